// Health tracking: poll schedule, failure breaker, latency estimate. Config keys (via
// HealthConfig): health.interval_ms, health.breaker_errors, health.probe_interval_ms.
#include "health/tracker.hpp"

#include <algorithm>
#include <cmath>

namespace rinha::health {
namespace {

using std::chrono::milliseconds;

constexpr double kLatencyWeight = 0.2;  // EWMA weight of the newest sample
constexpr int kIdleSampleMs = 1000;     // no latency sample for this long = no recent traffic

}  // namespace

bool Tracker::poll_due(Processor p, SteadyTime now) const {
  const State& s = st(p);
  return cfg_.polls && !s.poll_outstanding && now >= s.next_poll;
}

void Tracker::poll_started(Processor p, SteadyTime now) {
  State& s = st(p);
  s.poll_outstanding = true;
  s.next_poll = now + milliseconds(cfg_.interval_ms);
}

void Tracker::poll_finished(Processor p, SteadyTime now, std::optional<bool> failing,
                            std::optional<int> min_response_ms) {
  State& s = st(p);
  s.poll_outstanding = false;
  // A slow answer (queued behind other callers) must not let the next call start early.
  s.next_poll = std::max(s.next_poll, now + milliseconds(cfg_.interval_ms / 5));
  if (failing && min_response_ms) apply_report(p, now, now, *failing, *min_response_ms);
}

void Tracker::observed(Processor p, SteadyTime now, SteadyTime at, bool failing,
                       int min_response_ms) {
  const State& s = st(p);
  // Notifications and the table read after a reconnect may deliver one answer twice or late.
  if (s.report_at && at <= *s.report_at) return;
  // A stale "not failing" must not reset the breaker (it would not count in failing() either).
  if (now - at > milliseconds(cfg_.stale_after_ms)) return;
  apply_report(p, now, std::min(at, now), failing, min_response_ms);
}

void Tracker::apply_report(Processor p, SteadyTime now, SteadyTime at, bool failing, int min_ms) {
  const bool was_failing = this->failing(p, now);
  State& s = st(p);
  s.report_at = at;
  s.report_failing = failing;
  s.report_min_ms = min_ms;
  // The flag is exactly what makes the official processor fail: a fresh "not failing" clears
  // errors seen before it.
  if (!failing) s.consecutive_failures = 0;
  // Without recent traffic the observed latency is history (e.g. the 2 s that made the router
  // leave this processor); the configured delay just reported is the better estimate, and
  // without this the router would never come back to a processor it left for being slow.
  if (!s.last_sample || now - *s.last_sample > milliseconds(kIdleSampleMs)) {
    s.latency_ewma_ms = min_ms;
    s.have_latency = true;
  }
  on_change(p, now, was_failing);
}

void Tracker::on_change(Processor p, SteadyTime now, bool was_failing) {
  const Processor o = other_processor(p);
  // The other's probe in flight, if any, may predate the joint recovery (a failing processor
  // answers only after its delay): a fresh one is allowed beside it.
  if (was_failing && !failing(p, now) && failing(o, now)) {
    st(o).next_probe = now;
    st(o).kicked = true;
  }
}

void Tracker::payment_started(Processor p, SteadyTime now, bool probe) {
  if (!probe) return;
  ++st(p).probes_in_flight;
  st(p).probe_started = now;
  st(p).kicked = false;
}

void Tracker::payment_finished(Processor p, SteadyTime now, Signal sig, int latency_ms,
                               bool probe) {
  const bool was_failing = failing(p, now);
  State& s = st(p);
  if (probe) {
    s.probes_in_flight = std::max(0, s.probes_in_flight - 1);
    s.next_probe = now + milliseconds(cfg_.probe_interval_ms);
  }
  switch (sig) {
    case Signal::kSuccess:
      s.consecutive_failures = 0;
      s.last_success = now;
      s.last_sample = now;
      // The first success after a failing period starts the estimate afresh: the history is
      // the failing period's (whose delay may be long gone).
      if (!s.have_latency || was_failing) {
        s.latency_ewma_ms = latency_ms;
        s.have_latency = true;
      } else {
        s.latency_ewma_ms += kLatencyWeight * (latency_ms - s.latency_ewma_ms);
      }
      break;
    case Signal::kFailure:
      ++s.consecutive_failures;
      s.last_failure = now;
      break;
    case Signal::kNeutral:
      break;
  }
  on_change(p, now, was_failing);
}

bool Tracker::report_fresh(const State& s, SteadyTime now) const {
  return s.report_at && now - *s.report_at <= milliseconds(cfg_.stale_after_ms);
}

bool Tracker::failing(Processor p, SteadyTime now) const {
  const State& s = st(p);
  if (s.consecutive_failures >= cfg_.breaker_errors) return true;
  // A payment that succeeded after the report proves the flag is out of date.
  if (report_fresh(s, now) && s.report_failing &&
      !(s.last_success && *s.last_success > *s.report_at))
    return true;
  return false;
}

int Tracker::expected_latency_ms(Processor p, SteadyTime now, int oldest_in_flight_ms) const {
  const State& s = st(p);
  int e = s.have_latency ? static_cast<int>(std::lround(s.latency_ewma_ms)) : 0;
  // The reported delay counts until our own observations are newer than it.
  if (report_fresh(s, now) && (!s.last_sample || *s.report_at >= *s.last_sample))
    e = std::max(e, s.report_min_ms);
  return std::max(e, oldest_in_flight_ms);
}

router::ProcessorView Tracker::view(Processor p, SteadyTime now, int oldest_in_flight_ms,
                                    int free_slots, int capacity) const {
  const State& s = st(p);
  router::ProcessorView v;
  v.usable = !failing(p, now);
  v.probe_due = !v.usable && (s.kicked || (s.probes_in_flight == 0 && now >= s.next_probe));
  if (s.probes_in_flight > 0)
    v.probe_age_ms =
        static_cast<int>(std::chrono::duration_cast<milliseconds>(now - s.probe_started).count());
  v.expected_latency_ms = expected_latency_ms(p, now, oldest_in_flight_ms);
  v.free_slots = std::max(0, free_slots);
  v.capacity = std::max(1, capacity);
  return v;
}

SteadyTime Tracker::next_event(SteadyTime now) const {
  SteadyTime next = now + milliseconds(cfg_.interval_ms);
  for (const State& s : s_) {
    if (cfg_.polls && !s.poll_outstanding) next = std::min(next, s.next_poll);
    if (s.probes_in_flight == 0 && s.next_probe > now) next = std::min(next, s.next_probe);
  }
  return std::max(next, now);
}

}  // namespace rinha::health
