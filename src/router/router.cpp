// Routing decision and retry backoff (pure). Config keys: router.fallback_after_ms,
// router.slow_default_ms, retry.backoff_base_ms, retry.backoff_cap_ms, retry.max_attempts.
#include "router/router.hpp"

#include <algorithm>

namespace rinha::router {

Decision route(const RouterConfig& cfg, const ProcessorView& def, const ProcessorView& fb,
               int64_t waited_ms, int64_t queued) {
  const bool def_takes = def.usable && def.free_slots > 0;
  const bool fb_takes = fb.usable && fb.free_slots > 0;
  const bool def_slow = def.expected_latency_ms > cfg.slow_default_ms;
  const bool fb_faster = fb.expected_latency_ms < def.expected_latency_ms;
  // How long the default would take to work off the queue at its current latency.
  const int64_t def_drain_ms =
      queued * std::max(1, def.expected_latency_ms) / std::max(1, def.capacity);
  const bool def_overloaded =
      waited_ms >= cfg.fallback_after_ms && def_drain_ms > cfg.fallback_after_ms;

  auto send = [](Processor p, bool probe) {
    Decision d;
    d.kind = Decision::Kind::kSend;
    d.target = p;
    d.probe = probe;
    return d;
  };

  if (def_takes && !(def_slow && fb_takes && fb_faster)) return send(Processor::kDefault, false);
  if (!def.usable && def.probe_due && def.free_slots > 0) return send(Processor::kDefault, true);
  if (fb_takes && !def.usable && def.probe_age_ms >= 0 && def.probe_age_ms < cfg.probe_hold_ms) {
    Decision hold;
    hold.hold_ms = std::max(1, std::min(cfg.probe_hold_ms - def.probe_age_ms, cfg.hold_tick_ms));
    return hold;
  }
  if (fb_takes) {
    if (!def.usable || def_slow || def_overloaded) return send(Processor::kFallback, false);
  }
  if (!fb.usable && fb.probe_due && fb.free_slots > 0 && !def_takes)
    return send(Processor::kFallback, true);

  Decision hold;
  hold.hold_ms = cfg.hold_tick_ms;
  // A full, healthy default with a usable fallback: come back when the wait runs out.
  if (fb_takes && def.usable && waited_ms < cfg.fallback_after_ms)
    hold.hold_ms = static_cast<int>(
        std::clamp<int64_t>(cfg.fallback_after_ms - waited_ms, 1, cfg.hold_tick_ms));
  return hold;
}

int64_t backoff_ms(const BackoffConfig& cfg, int failures) {
  if (failures < 1) return 0;
  int64_t d = cfg.base_ms;
  for (int i = 1; i < failures && d < cfg.cap_ms; ++i) d *= 2;
  return std::min<int64_t>(d, cfg.cap_ms);
}

bool give_up(const BackoffConfig& cfg, int failures) {
  return cfg.max_attempts > 0 && failures >= cfg.max_attempts;
}

}  // namespace rinha::router
