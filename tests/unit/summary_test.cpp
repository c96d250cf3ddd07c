// Window rules (inclusive, one-sided = all, sub-ms rounding inwards) and the summary JSON shape.
#include "summary/summary.hpp"

#include <catch2/catch.hpp>

using namespace rinha;
using namespace rinha::summary;

TEST_CASE("a missing bound means every payment, like the processors") {
  CHECK(make_window(std::nullopt, std::nullopt).is_all());
  CHECK(make_window(UtcMicros{5000}, std::nullopt).is_all());
  CHECK(make_window(std::nullopt, UtcMicros{5000}).is_all());
}

TEST_CASE("bounds are inclusive and sub-millisecond bounds round inwards") {
  auto w = make_window(UtcMicros{1000'000}, UtcMicros{2000'000});
  CHECK(w.contains(UtcMillis{1000}));
  CHECK(w.contains(UtcMillis{2000}));
  CHECK_FALSE(w.contains(UtcMillis{999}));
  CHECK_FALSE(w.contains(UtcMillis{2001}));
  auto frac = make_window(UtcMicros{1000'500}, UtcMicros{1999'999});
  CHECK_FALSE(frac.contains(UtcMillis{1000}));  // 1000.000 < 1000.500
  CHECK(frac.contains(UtcMillis{1001}));
  CHECK(frac.contains(UtcMillis{1999}));  // 1999.000 <= 1999.999
  CHECK_FALSE(frac.contains(UtcMillis{2000}));
  auto neg = make_window(UtcMicros{-1500}, UtcMicros{-500});
  CHECK(neg.contains(UtcMillis{-1}));
  CHECK_FALSE(neg.contains(UtcMillis{-2}));
  auto empty = make_window(UtcMicros{5000'000}, UtcMicros{1000'000});
  CHECK_FALSE(empty.contains(UtcMillis{3000}));
}

TEST_CASE("summary JSON has the contract's exact shape") {
  SummaryTotals t;
  t.default_totals.add(Cents{1990});
  t.default_totals.add(Cents{1990});
  t.fallback_totals.add(Cents{5});
  CHECK(
      to_json(t) ==
      R"({"default":{"totalRequests":2,"totalAmount":39.80},"fallback":{"totalRequests":1,"totalAmount":0.05}})");
  CHECK(
      to_json(SummaryTotals{}) ==
      R"({"default":{"totalRequests":0,"totalAmount":0.00},"fallback":{"totalRequests":0,"totalAmount":0.00}})");
}
