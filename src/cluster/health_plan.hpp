// HealthPlan (pure): what the shared-health thread does next, per processor, given what
// PostgreSQL answered so far (docs/scale-out.md, section 4). A follower tries the processor's
// advisory lock every retry_ms; the leader claims the cluster-wide call slot (the claim itself
// is decided on PostgreSQL's clock, this only schedules the attempts) and, once granted, waits
// for the loop's answer before claiming again; a lost connection drops every lead at once and
// reconnects after reconnect_ms.
// Threading: used by the shared-health thread only.
#pragma once

#include <array>
#include <cstdint>

#include "common/processor_id.hpp"
#include "common/time.hpp"

namespace rinha::config {
struct Config;
}

namespace rinha::cluster {

// interval_ms and retry_ms come from config::Config, which holds their one default; the rest is
// fixed by the code.
struct SharedHealthConfig {
  int interval_ms;             // health.interval_ms: between calls to one processor, cluster-wide
  int retry_ms;                // health.shared_retry_ms: a follower's lock attempts
  int reconnect_ms = 1000;     // after the connection broke or could not be opened
  int call_timeout_ms = 9000;  // a granted call still unanswered after this counts as finished
};

// health.interval_ms and health.shared_retry_ms of cfg.
SharedHealthConfig shared_health_config(const config::Config& cfg);

enum class Step { kNone, kTryLock, kClaim };

class HealthPlan {
 public:
  explicit HealthPlan(SharedHealthConfig cfg) : cfg_(cfg) {}

  bool connected() const { return connected_; }
  bool connect_due(SteadyTime now) const { return !connected_ && now >= next_connect_; }
  void on_connected(SteadyTime now);  // every processor: a follower, lock attempt due now
  void on_connection_lost(SteadyTime now);

  Step next(Processor p, SteadyTime now) const;
  void on_lock(Processor p, SteadyTime now, bool got);
  // granted: the slot is ours and the call may go. Else slot_wait_ms: how long until the slot
  // opens on PostgreSQL's clock (another node's call, or ours before a reconnect).
  void on_claim(Processor p, SteadyTime now, bool granted, int64_t slot_wait_ms);
  void on_call_finished(Processor p);

  bool leader(Processor p) const { return s_[processor_index(p)].leader; }
  // When next() may change (a lock attempt, a claim, a reconnect, a call timing out).
  SteadyTime next_event(SteadyTime now) const;

 private:
  struct State {
    bool leader = false;
    SteadyTime next_lock{};
    SteadyTime next_claim{};
    bool calling = false;
    SteadyTime call_deadline{};
  };
  bool calling(const State& s, SteadyTime now) const { return s.calling && now < s.call_deadline; }

  SharedHealthConfig cfg_;
  bool connected_ = false;
  SteadyTime next_connect_{};
  std::array<State, 2> s_{};
};

}  // namespace rinha::cluster
