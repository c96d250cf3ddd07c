// Money, time and UUID primitives.
#include <catch2/catch.hpp>
#include <cerrno>

#include "common/errno_text.hpp"
#include "common/money.hpp"
#include "common/time.hpp"
#include "common/uuid.hpp"

using namespace rinha;

TEST_CASE("amounts parse exactly into cents", "[money]") {
  struct Row {
    const char* text;
    int64_t cents;
  };
  for (auto [text, cents] :
       {Row{"19.90", 1990}, Row{"19.9", 1990}, Row{"19.900", 1990}, Row{"20", 2000}, Row{"0.01", 1},
        Row{"1990e-2", 1990}, Row{"1.99E1", 1990}, Row{"20.05", 2005},
        Row{"1000000000", 100000000000LL}, Row{"0.10", 10}}) {
    INFO(text);
    auto r = parse_amount(text, Rounding::kRejectExtraDecimals);
    REQUIRE(r.is_ok());
    CHECK(r->value == cents);
  }
}

TEST_CASE("bad amounts are rejected with a reason", "[money]") {
  for (const char* text :
       {"", "-1", "0", "0.00", "19.901", "abc", "1.", ".5", "01", "1e", "1000000000.01",
        "99999999999999999999", "1e30", "NaN", "Infinity", "0.001", "1.2.3", " 1"}) {
    INFO(text);
    auto r = parse_amount(text, Rounding::kRejectExtraDecimals);
    CHECK_FALSE(r.is_ok());
    CHECK_FALSE(r.status().message().empty());
  }
}

TEST_CASE("one JSON number grammar splits digits and exponent exactly", "[money]") {
  auto n = scan_json_number("-0012.50e-1");
  CHECK_FALSE(n.is_ok());  // leading zeros are not JSON
  n = scan_json_number("-12.50e-1");
  REQUIRE(n.is_ok());
  CHECK(n->negative);
  CHECK(n->digits == "1250");
  CHECK(n->exp10 == -3);
  n = scan_json_number("0.000");
  REQUIRE(n.is_ok());
  CHECK(n->digits.empty());
  for (const char* bad :
       {"", "-", "1.", ".5", "1e", "1e+", "+1", "NaN", "-Infinity", "1 ", "0x10"}) {
    INFO(bad);
    CHECK(scan_json_number(bad).status().code() == Status::Code::kMalformed);
  }
}

TEST_CASE("half-even rounding matches .NET decimal.Round", "[money]") {
  struct Row {
    const char* text;
    int64_t cents;
  };
  for (auto [text, cents] :
       {Row{"0.125", 12}, Row{"0.135", 14}, Row{"0.1251", 13}, Row{"19.905", 1990},
        Row{"19.915", 1992}, Row{"19.9049", 1990}, Row{"2.675", 268}}) {
    INFO(text);
    auto r = parse_amount(text, Rounding::kHalfEven);
    REQUIRE(r.is_ok());
    CHECK(r->value == cents);
  }
}

TEST_CASE("cents format with two decimals", "[money]") {
  CHECK(format_cents(Cents{1990}) == "19.90");
  CHECK(format_cents(Cents{5}) == "0.05");
  CHECK(format_cents(Cents{0}) == "0.00");
  CHECK(format_cents(Cents{-250}) == "-2.50");
  CHECK(format_cents(Cents{123456789012}) == "1234567890.12");
}

TEST_CASE("ISO-8601 as toISOString writes it", "[time]") {
  auto t = parse_iso8601("2025-07-10T12:34:56.789Z");
  REQUIRE(t.is_ok());
  CHECK(t->value == 1752150896789000LL);
  CHECK(format_iso8601(UtcMillis{1752150896789LL}) == "2025-07-10T12:34:56.789Z");
  CHECK(parse_iso8601("1970-01-01T00:00:00Z")->value == 0);
  CHECK(parse_iso8601("2025-07-10T12:34:56Z")->value == 1752150896000000LL);
  CHECK(parse_iso8601("2025-07-10T12:34:56.1Z")->value == 1752150896100000LL);
  CHECK(parse_iso8601("2025-07-10T12:34:56.123456789Z")->value == 1752150896123456LL);
  CHECK(parse_iso8601("2025-07-10T14:34:56+02:00")->value == 1752150896000000LL);
  CHECK(parse_iso8601("2025-07-10T12:34:56")->value == 1752150896000000LL);
  CHECK(parse_iso8601("2024-02-29T00:00:00Z").is_ok());
  CHECK(format_iso8601(UtcMillis{-1}) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("malformed dates are rejected", "[time]") {
  for (const char* text :
       {"", "2025-07-10", "2025-13-10T00:00:00Z", "2025-02-29T00:00:00Z", "2025-07-10T24:00:00Z",
        "2025-07-10T12:34:56.Z", "2025-07-10T12:34:56ZZ", "yesterday", "2025-07-10T12:34:56+2",
        "2025-7-10T12:34:56Z", "2025-07-10T12:60:00Z"}) {
    INFO(text);
    CHECK_FALSE(parse_iso8601(text).is_ok());
  }
}

TEST_CASE("format and parse are inverse over a range of instants", "[time]") {
  for (int64_t ms = -86400000LL * 800; ms < 86400000LL * 40000; ms += 86400000LL * 37 + 12345) {
    auto back = parse_iso8601(format_iso8601(UtcMillis{ms}));
    REQUIRE(back.is_ok());
    CHECK(back->value == ms * 1000);
  }
}

TEST_CASE("UUIDs parse in either case and print lowercase", "[uuid]") {
  auto id = parse_uuid("4A7901B8-7D26-4D9D-AA19-4DC1C7CF60B3");
  REQUIRE(id.is_ok());
  CHECK(format_uuid(*id) == "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3");
  for (const char* bad :
       {"", "4a7901b87d264d9daa194dc1c7cf60b3", "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b",
        "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60bg", "{4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b}",
        "4a7901b8_7d26-4d9d-aa19-4dc1c7cf60b3"}) {
    INFO(bad);
    CHECK_FALSE(parse_uuid(bad).is_ok());
  }
}

TEST_CASE("errno_text: libc's message for a known value, a placeholder for an unknown one") {
  CHECK(rinha::errno_text(ENOENT) == "No such file or directory");
  CHECK(rinha::errno_text(EPIPE) == "Broken pipe");
  CHECK(rinha::errno_text(999999) == "Unknown error 999999");
}
