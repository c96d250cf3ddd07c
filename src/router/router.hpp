// Router (PURE): where the next queued payment goes, from an immutable view of both processors,
// how long the payment has waited and the routing knobs. Also the retry backoff schedule.
// Threading: free functions on values; callers pass everything in, nothing is shared.
//
// Policy (why): a payment still queued or in flight when the test ends is lost (100 %), a
// fallback payment costs only the fee difference (3 points in the final), and a payment in
// flight for long is the only way our summary can disagree with a processor's (see
// worker/dispatcher.cpp). So:
//   1. The default takes the payment when it is usable, has a free slot, and is not slow while a
//      faster fallback could take it.
//   2. A failing default may get one probe payment per probe interval, so that its recovery is
//      seen within about a second instead of at the next health poll (<= 5 s).
//   2b. While such a probe is young (< probe_hold_ms), payments wait for its answer instead of
//      going to the fallback: a recovered default answers a probe in a few ms, and a backlog
//      built while both were down should drain to it, not to the dearer fallback. A default
//      still failing answers late (its delay precedes the 500), so the wait is short and rare.
//   3. The fallback takes it when the default is failing, or slow (expected latency above
//      slow_default_ms) while the fallback is faster, or when the default is merely full and
//      both the payment has waited fallback_after_ms and the default could not drain the
//      current queue within fallback_after_ms (queued x latency / capacity): a burst, such as
//      the backlog left by a joint outage, drains to a fast default in milliseconds; only a
//      lasting overload spills to the fallback. A long hold would only grow what is lost at
//      the end of a test.
//   4. A failing fallback may be probed when the default cannot take the payment either.
//   5. Otherwise hold; the caller re-evaluates on every completion and at the returned time.
#pragma once

#include <cstdint>

#include "common/processor_id.hpp"

namespace rinha::router {

// What the router knows about one processor at one instant (built by health::Tracker).
struct ProcessorView {
  bool usable = true;           // not failing: health fresh and ok, breaker closed
  bool probe_due = false;       // failing, but one probe payment may be sent now
  int expected_latency_ms = 0;  // best estimate of a POST's latency right now
  int free_slots = 1;           // requests that may still be started (cap - in flight)
  int capacity = 1;             // requests that may be in flight at once
  int probe_age_ms = -1;        // age of the probe payment in flight, -1 if none
};

// Knob fields carry no default: their one default is in config::Config (router.*), from which
// the worker builds this (worker::dispatcher_config); tests set every one.
struct RouterConfig {
  int fallback_after_ms;  // wait for a full default before using the fallback
  int slow_default_ms;    // default expected latency above which a faster fallback wins
  int hold_tick_ms = 50;  // re-evaluation period while holding with nothing else due
  int probe_hold_ms;      // hold the fallback's traffic while a default probe is younger
};

struct Decision {
  enum class Kind : uint8_t { kSend, kHold };
  Kind kind = Kind::kHold;
  Processor target = Processor::kDefault;  // kSend only
  bool probe = false;                      // kSend to a failing processor as a probe
  int hold_ms = 0;                         // kHold: re-evaluate after at most this long
};

// waited_ms: how long the payment at the head of the queue has waited (>= 0); queued: payments
// waiting in the queue, this one included.
Decision route(const RouterConfig& cfg, const ProcessorView& def, const ProcessorView& fb,
               int64_t waited_ms, int64_t queued = 1);

// From config::Config's retry.* (no default of its own, as RouterConfig).
struct BackoffConfig {
  int base_ms;       // delay before the first retry
  int cap_ms;        // longest delay
  int max_attempts;  // 0 = never give up
};

// Delay before attempt number `failures + 1`, after `failures` (>= 1) failed attempts:
// base * 2^(failures-1), capped.
int64_t backoff_ms(const BackoffConfig& cfg, int failures);

// True when a payment that failed `failures` times must be given up.
bool give_up(const BackoffConfig& cfg, int failures);

}  // namespace rinha::router
