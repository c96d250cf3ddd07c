// Health tracker: poll schedule within the processors' rate limit, failure breaker and probes,
// latency estimate used for routing and for stamping requestedAt.
#include <catch2/catch.hpp>

#include "health/exchange.hpp"
#include "health/tracker.hpp"

using namespace rinha;
using namespace rinha::health;
using std::chrono::milliseconds;

namespace {

HealthConfig cfg() {
  HealthConfig c;
  c.interval_ms = 5000;
  c.stale_after_ms = 16000;
  c.breaker_errors = 3;
  c.probe_interval_ms = 1000;
  return c;
}

const Processor D = Processor::kDefault;
const Processor F = Processor::kFallback;

}  // namespace

TEST_CASE("never more than one health call per interval - and never two outstanding") {
  Tracker t(cfg());
  SteadyTime now{};
  REQUIRE(t.poll_due(D, now));
  t.poll_started(D, now);
  CHECK_FALSE(t.poll_due(D, now + milliseconds(6000)));  // still outstanding
  t.poll_finished(D, now + milliseconds(300), false, 0);
  CHECK_FALSE(t.poll_due(D, now + milliseconds(4999)));
  CHECK(t.poll_due(D, now + milliseconds(5000)));
  CHECK(t.poll_due(F, now));  // processors are independent
  // A slow answer (held by the processor's limiter queue) still leaves a full interval
  // between the starts, and a gap after the answer.
  t.poll_started(D, now + milliseconds(5000));
  t.poll_finished(D, now + milliseconds(9900), std::nullopt, std::nullopt);  // 429 / timeout
  CHECK_FALSE(t.poll_due(D, now + milliseconds(9999)));
  CHECK(t.poll_due(D, now + milliseconds(10'900)));
  CHECK(t.next_event(now + milliseconds(9900)) <= now + milliseconds(10'900));
}

TEST_CASE("a fresh failing report makes the processor unusable until a payment succeeds") {
  Tracker t(cfg());
  SteadyTime now{};
  t.poll_started(D, now);
  t.poll_finished(D, now, true, 2000);
  CHECK(t.failing(D, now + milliseconds(10)));
  auto v = t.view(D, now + milliseconds(10), 0, 10);
  CHECK_FALSE(v.usable);
  CHECK(v.probe_due);
  CHECK(v.expected_latency_ms == 2000);
  t.payment_started(D, now, true);
  CHECK_FALSE(t.view(D, now + milliseconds(20), 0, 10).probe_due);  // one probe at a time
  t.payment_finished(D, now + milliseconds(50), Signal::kSuccess, 40, true);
  CHECK_FALSE(t.failing(D, now + milliseconds(60)));
  // The report goes stale.
  Tracker u(cfg());
  u.poll_started(F, now);
  u.poll_finished(F, now, true, 0);
  CHECK(u.failing(F, now + milliseconds(16'000)));
  CHECK_FALSE(u.failing(F, now + milliseconds(16'001)));
}

TEST_CASE("consecutive failures trip the breaker - probes are spaced - a healthy report resets") {
  Tracker t(cfg());
  SteadyTime now{};
  for (int i = 0; i < 2; ++i) t.payment_finished(D, now, Signal::kFailure, 5, false);
  CHECK_FALSE(t.failing(D, now));
  t.payment_finished(D, now, Signal::kNeutral, 5, false);  // a 429 says nothing
  CHECK_FALSE(t.failing(D, now));
  t.payment_finished(D, now, Signal::kFailure, 5, false);
  CHECK(t.failing(D, now));
  t.payment_started(D, now, true);
  t.payment_finished(D, now + milliseconds(100), Signal::kFailure, 5, true);
  CHECK_FALSE(t.view(D, now + milliseconds(999), 0, 10).probe_due);
  CHECK(t.view(D, now + milliseconds(1100), 0, 10).probe_due);
  t.poll_started(D, now + milliseconds(1200));
  t.poll_finished(D, now + milliseconds(1200), false, 0);
  CHECK_FALSE(t.failing(D, now + milliseconds(1300)));
}

TEST_CASE("expected latency: max of health delay - observed EWMA and the oldest in-flight age") {
  Tracker t(cfg());
  SteadyTime now{};
  CHECK(t.expected_latency_ms(D, now, 0) == 0);
  t.payment_finished(D, now, Signal::kSuccess, 100, false);
  CHECK(t.expected_latency_ms(D, now, 0) == 100);
  t.payment_finished(D, now, Signal::kSuccess, 200, false);
  CHECK(t.expected_latency_ms(D, now, 0) == 120);  // EWMA weight 0.2
  CHECK(t.expected_latency_ms(D, now, 1500) == 1500);
  t.poll_started(D, now + milliseconds(1));
  t.poll_finished(D, now + milliseconds(1), false, 1000);
  CHECK(t.expected_latency_ms(D, now + milliseconds(1), 0) == 1000);
  CHECK(t.expected_latency_ms(D, now + milliseconds(20'000), 0) == 120);  // report stale
  t.payment_finished(D, now + milliseconds(2), Signal::kSuccess, 120, false);
  CHECK(t.expected_latency_ms(D, now + milliseconds(2), 0) == 120);  // newer than the report
}

TEST_CASE("a health report replaces the observed latency of a processor with no recent traffic") {
  Tracker t(cfg());
  SteadyTime now{};
  t.payment_finished(D, now, Signal::kSuccess, 2000, false);  // the slow phase we left
  CHECK(t.expected_latency_ms(D, now, 0) == 2000);
  t.poll_started(D, now + milliseconds(500));
  t.poll_finished(D, now + milliseconds(500), false, 0);  // traffic still recent: kept
  CHECK(t.expected_latency_ms(D, now + milliseconds(500), 0) == 2000);
  t.poll_started(D, now + milliseconds(5500));
  t.poll_finished(D, now + milliseconds(5500), false, 0);  // idle since: the report wins
  CHECK(t.expected_latency_ms(D, now + milliseconds(5500), 0) == 0);
}

TEST_CASE("a processor's recovery makes the other failing one's probe due at once") {
  Tracker t(cfg());
  SteadyTime now{};
  for (Processor p : {D, F})
    for (int i = 0; i < 3; ++i) t.payment_finished(p, now, Signal::kFailure, 5, false);
  t.payment_started(D, now, true);  // still in flight (a failing processor answers late)
  CHECK_FALSE(t.view(D, now + milliseconds(20), 0, 10).probe_due);
  t.poll_started(F, now + milliseconds(20));
  t.poll_finished(F, now + milliseconds(20), false, 0);  // the fallback is back
  CHECK_FALSE(t.failing(F, now + milliseconds(20)));
  auto v = t.view(D, now + milliseconds(20), 0, 10);
  CHECK(v.probe_due);
  t.payment_started(D, now + milliseconds(20), true);
  CHECK_FALSE(t.view(D, now + milliseconds(120), 0, 10).probe_due);  // one kick, one probe
  CHECK(t.view(D, now + milliseconds(120), 0, 10).probe_age_ms == 100);
  CHECK(t.view(F, now + milliseconds(120), 0, 10).probe_age_ms == -1);
}

TEST_CASE("the first success after a failing period restarts the latency estimate") {
  Tracker t(cfg());
  SteadyTime now{};
  t.payment_finished(D, now, Signal::kSuccess, 2000, false);
  for (int i = 0; i < 3; ++i) t.payment_finished(D, now, Signal::kFailure, 2000, false);
  REQUIRE(t.failing(D, now));
  t.payment_finished(D, now + milliseconds(10), Signal::kSuccess, 20, true);
  CHECK_FALSE(t.failing(D, now + milliseconds(10)));
  CHECK(t.expected_latency_ms(D, now + milliseconds(10), 0) == 20);
}

TEST_CASE("a tracker fed by another worker's polls: never due, reports aged by their instant") {
  HealthConfig c = cfg();
  c.polls = false;  // health.shared on
  Tracker t(c);
  SteadyTime now{};
  CHECK_FALSE(t.poll_due(D, now));
  CHECK_FALSE(t.poll_due(F, now + milliseconds(60'000)));
  // No poll of its own to wake up for (a due poll at the epoch would spin the loop).
  CHECK(t.next_event(now + milliseconds(100)) == now + milliseconds(100 + c.interval_ms));
  // An answer obtained 2 s ago counts like our own from its instant on: failing until stale.
  now += milliseconds(20'000);
  t.observed(D, now, now - milliseconds(2000), true, 300);
  CHECK(t.failing(D, now));
  CHECK(t.view(D, now, 0, 10).expected_latency_ms == 300);
  CHECK(t.failing(D, now + milliseconds(13'999)));
  CHECK_FALSE(t.failing(D, now + milliseconds(14'001)));  // 16 s after it was obtained
  // The same answer again (a notification after the table read) or an older one changes nothing.
  t.observed(D, now + milliseconds(100), now - milliseconds(3000), false, 0);
  CHECK(t.failing(D, now + milliseconds(100)));
  // A newer one does.
  t.observed(D, now + milliseconds(200), now + milliseconds(150), false, 0);
  CHECK_FALSE(t.failing(D, now + milliseconds(200)));
}

TEST_CASE("a stale answer from another worker neither counts nor resets the breaker") {
  HealthConfig c = cfg();
  c.polls = false;
  Tracker t(c);
  SteadyTime now{milliseconds(100'000)};
  for (int i = 0; i < 3; ++i) t.payment_finished(F, now, Signal::kFailure, 0, false);
  REQUIRE(t.failing(F, now));
  t.observed(F, now, now - milliseconds(16'001), false, 0);  // read from the table, too old
  CHECK(t.failing(F, now));
  t.observed(F, now, now - milliseconds(1000), false, 0);  // fresh "not failing": it works
  CHECK_FALSE(t.failing(F, now));
}

TEST_CASE("health exchange: grants and observations reach the loop, answers the shared thread") {
  HealthExchange x;
  int loop_wakes = 0, thread_wakes = 0;
  x.set_loop_wakeup([&] { ++loop_wakes; });
  x.set_thread_wakeup([&] { ++thread_wakes; });
  x.grant(D);
  x.observe(Observation{F, SteadyTime{milliseconds(7)}, true, 40});
  CHECK(loop_wakes == 2);
  auto in = x.take();
  REQUIRE(in.grants.size() == 1);
  CHECK(in.grants[0] == D);
  REQUIRE(in.observations.size() == 1);
  CHECK(in.observations[0].processor == F);
  CHECK(in.observations[0].min_response_ms == 40);
  CHECK(x.take().grants.empty());  // taken once
  x.answered(D, std::nullopt);
  CHECK(thread_wakes == 1);
  auto answers = x.take_answers();
  REQUIRE(answers.size() == 1);
  CHECK_FALSE(answers[0].observation);
  // Leadership lost before the loop took a grant: the call must not go.
  x.grant(F);
  x.revoke_grants();
  CHECK(x.take().grants.empty());
}
