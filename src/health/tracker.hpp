// Health tracker (pure; no curl): what the worker knows about each processor's health, from
// two sources: GET /payments/service-health answers (polled by this worker at most once per
// health.interval_ms, or with health.shared on by whichever worker leads the polls) and the
// outcomes and latencies of our own requests. It schedules the polls and produces the router's
// ProcessorView. Threading: owned and used by the worker's scheduling loop thread only.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "common/processor_id.hpp"
#include "common/time.hpp"
#include "router/router.hpp"

namespace rinha::health {

// Knob fields come from config::Config's health.* (worker::dispatcher_config): no default here.
struct HealthConfig {
  int interval_ms;             // between health calls to one processor (>= 5000)
  int stale_after_ms = 16000;  // a health answer older than this no longer counts
  int breaker_errors;          // consecutive failed payments that mark a processor failing
  int probe_interval_ms;       // while failing, one probe payment at most this often
  // false: this tracker schedules no polls of its own; the answers come through observed()
  // (health.shared on: another worker may be the one polling).
  bool polls = true;
};

// What one finished POST /payments says about the processor.
enum class Signal : uint8_t {
  kSuccess,  // 2xx or 422: it works
  kFailure,  // 5xx, timeout, reset, connect failure: it may be failing
  kNeutral,  // 429, other 4xx: says nothing about failure
};

class Tracker {
 public:
  explicit Tracker(HealthConfig cfg) : cfg_(cfg) {}

  // Polling: at most one call outstanding per processor, and starts at least interval apart.
  bool poll_due(Processor p, SteadyTime now) const;
  void poll_started(Processor p, SteadyTime now);
  // report: the parsed answer, or nullopt (429, timeout, garbage): the previous one stays.
  void poll_finished(Processor p, SteadyTime now, std::optional<bool> failing,
                     std::optional<int> min_response_ms);
  // An answer obtained at `at` (<= now) by whoever polled: used like our own unless one we
  // already have is newer.
  void observed(Processor p, SteadyTime now, SteadyTime at, bool failing, int min_response_ms);

  void payment_started(Processor p, SteadyTime now, bool probe);
  void payment_finished(Processor p, SteadyTime now, Signal s, int latency_ms, bool probe);

  // Expected latency of a POST sent now. oldest_in_flight_ms: age of the oldest POST still in
  // flight to p (0 if none): a lower bound on the current latency that moves before any answer.
  int expected_latency_ms(Processor p, SteadyTime now, int oldest_in_flight_ms) const;

  router::ProcessorView view(Processor p, SteadyTime now, int oldest_in_flight_ms, int free_slots,
                             int capacity = 1) const;

  bool failing(Processor p, SteadyTime now) const;
  // The delay the processor last reported (minResponseTime; 0 before any report): it passes
  // before a POST is committed, unlike observed latency, which also holds the answer's way back.
  int reported_delay_ms(Processor p) const { return st(p).report_min_ms; }
  // Next instant something time-driven changes (a poll or a probe falls due).
  SteadyTime next_event(SteadyTime now) const;

 private:
  struct State {
    bool poll_outstanding = false;
    SteadyTime next_poll{};               // not before
    std::optional<SteadyTime> report_at;  // last usable health answer
    bool report_failing = false;
    int report_min_ms = 0;
    int consecutive_failures = 0;
    std::optional<SteadyTime> last_success;
    std::optional<SteadyTime> last_failure;
    double latency_ewma_ms = 0;
    bool have_latency = false;
    std::optional<SteadyTime> last_sample;
    int probes_in_flight = 0;
    SteadyTime probe_started{};  // of the newest probe in flight
    bool kicked = false;         // probe now, even beside an older probe still in flight
    SteadyTime next_probe{};
  };
  const State& st(Processor p) const { return s_[processor_index(p)]; }
  State& st(Processor p) { return s_[processor_index(p)]; }
  bool report_fresh(const State& s, SteadyTime now) const;
  void apply_report(Processor p, SteadyTime now, SteadyTime at, bool failing, int min_ms);
  // p just stopped failing while the other one still fails: probe the other one now, so that a
  // joint recovery is seen on both sides before a backlog drains to the wrong one.
  void on_change(Processor p, SteadyTime now, bool was_failing);

  HealthConfig cfg_;
  std::array<State, 2> s_{};
};

}  // namespace rinha::health
