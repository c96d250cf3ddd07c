// Shared health poller's schedule (HealthPlan, pure) on a ManualClock: followers try the lock
// every retry_ms, a leader claims the cluster-wide slot and waits for its call's answer, a lost
// connection drops every lead; and a simulated cluster of plans around one slot row (the
// conditional UPDATE of shared_health.cpp, on one clock) that kills its leader: calls stay
// within 1 per interval per processor and leadership moves within retry_ms.
#include <catch2/catch.hpp>
#include <optional>
#include <vector>

#include "cluster/health_plan.hpp"
#include "config/config.hpp"

using namespace rinha;
using namespace rinha::cluster;
using std::chrono::milliseconds;

namespace {

const Processor D = Processor::kDefault;
const Processor F = Processor::kFallback;

SharedHealthConfig cfg() {
  SharedHealthConfig c = shared_health_config(config::Config{});
  c.interval_ms = 5000;
  c.retry_ms = 500;
  c.reconnect_ms = 1000;
  c.call_timeout_ms = 9000;
  return c;
}

}  // namespace

TEST_CASE("plan: its interval and retry are config::Config's health.* keys") {
  config::Config c;
  c.health.interval_ms = 7000;
  c.health.shared_retry_ms = 300;
  const SharedHealthConfig s = shared_health_config(c);
  CHECK(s.interval_ms == 7000);
  CHECK(s.retry_ms == 300);
}

TEST_CASE("plan: nothing before connecting - a follower tries the lock every retry_ms") {
  HealthPlan plan(cfg());
  SteadyTime now{};
  CHECK(plan.next(D, now) == Step::kNone);
  REQUIRE(plan.connect_due(now));
  plan.on_connected(now);
  CHECK(plan.next(D, now) == Step::kTryLock);
  CHECK(plan.next(F, now) == Step::kTryLock);
  plan.on_lock(D, now, false);
  CHECK_FALSE(plan.leader(D));
  CHECK(plan.next(D, now + milliseconds(499)) == Step::kNone);
  CHECK(plan.next(D, now + milliseconds(500)) == Step::kTryLock);
  plan.on_lock(F, now, false);
  CHECK(plan.next_event(now) == now + milliseconds(500));
}

TEST_CASE("plan: a leader claims at once, then one claim per interval after its call answered") {
  HealthPlan plan(cfg());
  SteadyTime now{};
  plan.on_connected(now);
  plan.on_lock(D, now, true);
  REQUIRE(plan.leader(D));
  REQUIRE(plan.next(D, now) == Step::kClaim);
  plan.on_claim(D, now, true, 0);
  CHECK(plan.next(D, now) == Step::kNone);
  // The call still out at the next interval: no claim until it answered (or timed out).
  CHECK(plan.next(D, now + milliseconds(6000)) == Step::kNone);
  plan.on_call_finished(D);
  CHECK(plan.next(D, now + milliseconds(4999)) == Step::kNone);
  CHECK(plan.next(D, now + milliseconds(5000)) == Step::kClaim);
  // An answer that never comes frees the claims after call_timeout_ms.
  plan.on_claim(D, now + milliseconds(5000), true, 0);
  CHECK(plan.next(D, now + milliseconds(13'999)) == Step::kNone);
  CHECK(plan.next(D, now + milliseconds(14'000)) == Step::kClaim);
}

TEST_CASE("plan: a denied claim waits for the slot PostgreSQL reports, within bounds") {
  HealthPlan plan(cfg());
  SteadyTime now{};
  plan.on_connected(now);
  plan.on_lock(D, now, true);
  plan.on_claim(D, now, false, 3200);  // the previous leader called 1.8 s ago
  CHECK(plan.next(D, now + milliseconds(3199)) == Step::kNone);
  CHECK(plan.next(D, now + milliseconds(3200)) == Step::kClaim);
  plan.on_claim(D, now + milliseconds(3200), false, -5);         // read before a concurrent commit
  CHECK(plan.next(D, now + milliseconds(3200)) == Step::kNone);  // no spinning
  CHECK(plan.next(D, now + milliseconds(3210)) == Step::kClaim);
  plan.on_claim(D, now + milliseconds(3210), false, 1'000'000);  // clamped to one interval
  CHECK(plan.next(D, now + milliseconds(8210)) == Step::kClaim);
}

TEST_CASE("plan: a lost connection drops every lead, then reconnects and competes again") {
  HealthPlan plan(cfg());
  SteadyTime now{};
  plan.on_connected(now);
  plan.on_lock(D, now, true);
  plan.on_lock(F, now, true);
  plan.on_claim(D, now, true, 0);
  plan.on_connection_lost(now + milliseconds(100));
  CHECK_FALSE(plan.leader(D));
  CHECK_FALSE(plan.leader(F));
  CHECK(plan.next(F, now + milliseconds(100)) == Step::kNone);  // no claim without a session
  CHECK_FALSE(plan.connect_due(now + milliseconds(1099)));
  CHECK(plan.next_event(now + milliseconds(100)) == now + milliseconds(1100));
  REQUIRE(plan.connect_due(now + milliseconds(1100)));
  plan.on_connected(now + milliseconds(1100));
  CHECK(plan.next(D, now + milliseconds(1100)) == Step::kTryLock);  // a follower again
}

// Three nodes' plans around one advisory lock and one slot row per processor on a shared clock,
// as shared_health.cpp drives them against PostgreSQL; a call answers 20 ms after its grant.
TEST_CASE("simulated cluster: leader killed - calls within budget, lead moves within retry_ms") {
  struct Node {
    HealthPlan plan{cfg()};
    bool alive = true;
    std::vector<SteadyTime> answers_due[2];
  };
  std::vector<Node> nodes(3);
  int lock_owner[2] = {-1, -1};
  SteadyTime slot[2] = {SteadyTime{}, SteadyTime{}};  // polled_at of the row
  bool slot_used[2] = {false, false};
  std::vector<SteadyTime> calls[2];
  const SteadyTime t0{milliseconds(1'000'000)};
  for (auto& n : nodes) n.plan.on_connected(t0);
  SteadyTime killed_at{};
  std::optional<SteadyTime> new_leader_at;
  for (SteadyTime now = t0; now < t0 + milliseconds(30'000); now += milliseconds(10)) {
    if (now == t0 + milliseconds(12'340)) {  // kill -9 the default's leader: its session ends
      const int victim = lock_owner[0];
      REQUIRE(victim >= 0);
      nodes[victim].alive = false;
      for (int& o : lock_owner)
        if (o == victim) o = -1;
      killed_at = now;
    }
    for (int i = 0; i < 3; ++i) {
      Node& n = nodes[i];
      if (!n.alive) continue;
      for (Processor p : {D, F}) {
        const int k = processor_index(p);
        auto& due = n.answers_due[k];
        while (!due.empty() && due.front() <= now) {
          due.erase(due.begin());
          n.plan.on_call_finished(p);
        }
        switch (n.plan.next(p, now)) {
          case Step::kNone:
            break;
          case Step::kTryLock: {
            const bool got = lock_owner[k] == -1 || lock_owner[k] == i;
            if (got) lock_owner[k] = i;
            if (got && k == 0 && killed_at != SteadyTime{} && !new_leader_at) new_leader_at = now;
            n.plan.on_lock(p, now, got);
            break;
          }
          case Step::kClaim: {
            const bool granted = !slot_used[k] || slot[k] <= now - milliseconds(5000);
            const auto wait =
                std::chrono::duration_cast<milliseconds>(slot[k] + milliseconds(5000) - now)
                    .count();
            if (granted) {
              slot[k] = now;
              slot_used[k] = true;
              calls[k].push_back(now);
              due.push_back(now + milliseconds(20));
            }
            n.plan.on_claim(p, now, granted, wait);
            break;
          }
        }
      }
    }
  }
  REQUIRE(new_leader_at);
  CHECK(*new_leader_at - killed_at <= milliseconds(500));
  for (int k = 0; k < 2; ++k) {
    INFO("processor " << k);
    // One call per interval and no fewer: 30 s = 6 calls, with the hand-over in the middle.
    CHECK(calls[k].size() == 6);
    for (size_t c = 1; c < calls[k].size(); ++c)
      CHECK(calls[k][c] - calls[k][c - 1] >= milliseconds(5000));
  }
  // The new leader's first call waited out the dead leader's last slot, no longer.
  CHECK(calls[0][3] - calls[0][2] == milliseconds(5000));
}
