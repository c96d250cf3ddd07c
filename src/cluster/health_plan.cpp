// HealthPlan: attempt schedule of the shared health poller. Config keys (via
// SharedHealthConfig): health.interval_ms, health.shared_retry_ms.
#include "cluster/health_plan.hpp"

#include <algorithm>

#include "config/config.hpp"

namespace rinha::cluster {

using std::chrono::milliseconds;

namespace {
// A denied claim is retried no sooner than this, even when PostgreSQL says the slot opens at
// once (its answer was read before a concurrent claim committed).
constexpr int64_t kMinClaimWaitMs = 10;
}  // namespace

SharedHealthConfig shared_health_config(const config::Config& cfg) {
  return {.interval_ms = cfg.health.interval_ms, .retry_ms = cfg.health.shared_retry_ms};
}

void HealthPlan::on_connected(SteadyTime now) {
  connected_ = true;
  for (State& s : s_) s = State{false, now, now, false, {}};
}

void HealthPlan::on_connection_lost(SteadyTime now) {
  // The session (and with it every advisory lock) is gone or going: no more claims from here.
  connected_ = false;
  next_connect_ = now + milliseconds(cfg_.reconnect_ms);
  for (State& s : s_) s = State{};
}

Step HealthPlan::next(Processor p, SteadyTime now) const {
  if (!connected_) return Step::kNone;
  const State& s = s_[processor_index(p)];
  if (!s.leader) return now >= s.next_lock ? Step::kTryLock : Step::kNone;
  if (calling(s, now)) return Step::kNone;
  return now >= s.next_claim ? Step::kClaim : Step::kNone;
}

void HealthPlan::on_lock(Processor p, SteadyTime now, bool got) {
  State& s = s_[processor_index(p)];
  s.leader = got;
  if (got)
    s.next_claim = now;  // the slot row says whether the previous leader's window is over
  else
    s.next_lock = now + milliseconds(cfg_.retry_ms);
}

void HealthPlan::on_claim(Processor p, SteadyTime now, bool granted, int64_t slot_wait_ms) {
  State& s = s_[processor_index(p)];
  if (granted) {
    s.calling = true;
    s.call_deadline = now + milliseconds(cfg_.call_timeout_ms);
    s.next_claim = now + milliseconds(cfg_.interval_ms);
    return;
  }
  s.next_claim =
      now + milliseconds(std::clamp<int64_t>(slot_wait_ms, kMinClaimWaitMs, cfg_.interval_ms));
}

void HealthPlan::on_call_finished(Processor p) { s_[processor_index(p)].calling = false; }

SteadyTime HealthPlan::next_event(SteadyTime now) const {
  if (!connected_) return std::max(now, next_connect_);
  SteadyTime next = now + milliseconds(cfg_.interval_ms);
  for (const State& s : s_) {
    if (!s.leader)
      next = std::min(next, s.next_lock);
    else if (calling(s, now))
      next = std::min(next, s.call_deadline);
    else
      next = std::min(next, s.next_claim);
  }
  return std::max(next, now);
}

}  // namespace rinha::cluster
