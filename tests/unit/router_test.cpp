// Router policy and backoff schedule.
#include "router/router.hpp"

#include <catch2/catch.hpp>

using namespace rinha::router;
using rinha::Processor;

namespace {

ProcessorView healthy(int latency_ms = 10, int free_slots = 100) {
  ProcessorView v;
  v.usable = true;
  v.expected_latency_ms = latency_ms;
  v.free_slots = free_slots;
  return v;
}

ProcessorView failing(bool probe_due = false) {
  ProcessorView v;
  v.usable = false;
  v.probe_due = probe_due;
  v.free_slots = 100;
  return v;
}

RouterConfig cfg() {
  RouterConfig c;
  c.fallback_after_ms = 300;
  c.slow_default_ms = 1500;
  c.hold_tick_ms = 50;
  c.probe_hold_ms = 300;
  return c;
}

}  // namespace

TEST_CASE("healthy default is preferred even when the fallback is faster") {
  auto d = route(cfg(), healthy(1000), healthy(0), 0);
  REQUIRE(d.kind == Decision::Kind::kSend);
  CHECK(d.target == Processor::kDefault);
  CHECK_FALSE(d.probe);
}

TEST_CASE("slow default loses to a faster fallback at once") {
  auto d = route(cfg(), healthy(2000), healthy(5), 0);
  REQUIRE(d.kind == Decision::Kind::kSend);
  CHECK(d.target == Processor::kFallback);
}

TEST_CASE("slow default is still used when the fallback is slower - failing or full") {
  CHECK(route(cfg(), healthy(2000), healthy(5000), 0).target == Processor::kDefault);
  CHECK(route(cfg(), healthy(2000), failing(), 0).target == Processor::kDefault);
  CHECK(route(cfg(), healthy(2000), healthy(5, 0), 0).target == Processor::kDefault);
}

TEST_CASE("failing default sends to the fallback without waiting") {
  auto d = route(cfg(), failing(), healthy(1000), 0);
  REQUIRE(d.kind == Decision::Kind::kSend);
  CHECK(d.target == Processor::kFallback);
}

TEST_CASE("a due probe of a failing default goes first") {
  auto d = route(cfg(), failing(true), healthy(0), 0);
  REQUIRE(d.kind == Decision::Kind::kSend);
  CHECK(d.target == Processor::kDefault);
  CHECK(d.probe);
}

TEST_CASE("full default: hold briefly - then fallback once the payment waited long enough") {
  auto full = healthy(10, 0);
  full.capacity = 400;
  // A lasting overload: 30k queued would take 750 ms to drain at 10 ms x 400 in flight.
  auto d = route(cfg(), full, healthy(10), 100, 30'000);
  REQUIRE(d.kind == Decision::Kind::kHold);
  CHECK(d.hold_ms > 0);
  CHECK(d.hold_ms <= 50);
  auto later = route(cfg(), full, healthy(10), 300, 30'000);
  REQUIRE(later.kind == Decision::Kind::kSend);
  CHECK(later.target == Processor::kFallback);
  // The hold never outlasts the remaining wait.
  CHECK(route(cfg(), full, healthy(10), 290, 30'000).hold_ms == 10);
}

TEST_CASE("a burst that a fast default drains quickly waits for it - however old") {
  auto full = healthy(20, 0);
  full.capacity = 400;
  // 3000 queued x 20 ms / 400 = 150 ms of work for the default: keep it off the fallback.
  CHECK(route(cfg(), full, healthy(5), 10'000, 3000).kind == Decision::Kind::kHold);
  // The same backlog on a default answering in 200 ms would take 1.5 s: spill.
  auto slower = healthy(200, 0);
  slower.capacity = 400;
  CHECK(route(cfg(), slower, healthy(5), 10'000, 3000).target == Processor::kFallback);
}

TEST_CASE("both failing: hold - unless a probe is due") {
  auto d = route(cfg(), failing(), failing(), 10'000);
  CHECK(d.kind == Decision::Kind::kHold);
  CHECK(d.hold_ms == 50);
  auto p = route(cfg(), failing(), failing(true), 10'000);
  REQUIRE(p.kind == Decision::Kind::kSend);
  CHECK(p.target == Processor::kFallback);
  CHECK(p.probe);
}

TEST_CASE("no free slot anywhere: hold") {
  CHECK(route(cfg(), healthy(10, 0), healthy(10, 0), 5000).kind == Decision::Kind::kHold);
  CHECK(route(cfg(), failing(true), failing(), 0).kind == Decision::Kind::kSend);
  auto no_slot_probe = failing(true);
  no_slot_probe.free_slots = 0;
  CHECK(route(cfg(), no_slot_probe, failing(), 0).kind == Decision::Kind::kHold);
}

TEST_CASE("backoff doubles from base up to the cap") {
  BackoffConfig b{10, 1000, 0};
  CHECK(backoff_ms(b, 1) == 10);
  CHECK(backoff_ms(b, 2) == 20);
  CHECK(backoff_ms(b, 3) == 40);
  CHECK(backoff_ms(b, 7) == 640);
  CHECK(backoff_ms(b, 8) == 1000);
  CHECK(backoff_ms(b, 1000) == 1000);
}

TEST_CASE("max_attempts 0 never gives up - otherwise gives up at the limit") {
  CHECK_FALSE(give_up(BackoffConfig{10, 1000, 0}, 1'000'000));
  BackoffConfig three{10, 1000, 3};
  CHECK_FALSE(give_up(three, 2));
  CHECK(give_up(three, 3));
}

TEST_CASE("a young default probe holds the fallback's traffic - an old one no longer does") {
  auto probing = failing();
  probing.probe_age_ms = 100;
  auto d = route(cfg(), probing, healthy(5), 10'000);
  REQUIRE(d.kind == Decision::Kind::kHold);
  CHECK(d.hold_ms == 50);
  probing.probe_age_ms = 280;
  CHECK(route(cfg(), probing, healthy(5), 10'000).hold_ms == 20);
  probing.probe_age_ms = 300;
  auto late = route(cfg(), probing, healthy(5), 10'000);
  REQUIRE(late.kind == Decision::Kind::kSend);
  CHECK(late.target == Processor::kFallback);
}
