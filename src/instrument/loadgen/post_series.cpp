// Per-second POST buckets (see post_series.hpp).
#include "instrument/loadgen/post_series.hpp"

#include <algorithm>

#include "instrument/loadgen/profile.hpp"

namespace rinha::loadgen {

PostSeries::Second& PostSeries::at(int64_t ms) {
  size_t k = static_cast<size_t>(std::max<int64_t>(ms, 0) / 1000);
  if (k >= seconds_.size()) seconds_.resize(k + 1);
  return seconds_[k];
}

void PostSeries::on_sent(int64_t sent_ms) {
  ++at(sent_ms).sent;
  sent_ms_.push_back(sent_ms);
}

void PostSeries::on_done(int64_t sent_ms, bool ok, bool timeout, std::optional<double> latency_ms) {
  Second& s = at(sent_ms);
  ++(ok ? s.ok : s.failed);
  if (timeout) ++s.timeouts;
  if (ok && latency_ms) s.latency_ms.push_back(*latency_ms);
}

int64_t PostSeries::sent_since(int64_t from_ms) const {
  auto it = std::lower_bound(sent_ms_.begin(), sent_ms_.end(), from_ms);
  return static_cast<int64_t>(sent_ms_.end() - it);
}

void PostSeries::fill(report::Series& series) const {
  const size_t n = std::min(seconds_.size(), series.sent.size());
  for (size_t k = 0; k < n; ++k) {
    const Second& s = seconds_[k];
    series.sent[k] = s.sent;
    series.ok[k] = s.ok;
    series.failed[k] = s.failed;
    series.timeouts[k] = s.timeouts;
    if (s.latency_ms.empty()) continue;
    std::vector<double> sorted = s.latency_ms;
    std::sort(sorted.begin(), sorted.end());
    series.p50[k] = percentile(sorted, 0.5);
    series.p90[k] = percentile(sorted, 0.9);
    series.p99[k] = percentile(sorted, 0.99);
    series.max[k] = sorted.back();
  }
}

}  // namespace rinha::loadgen
