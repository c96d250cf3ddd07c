// PostSeries (pure): the outcomes of POST /payments bucketed by the second of the run in which
// each was sent (sent / ok / failed / timeouts and the latencies of the successful ones), and
// the send instants, to count what a window could have earned at best.
// Threading: written by the payments thread only; read after run_payments() returns.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "instrument/report/run_record.hpp"

namespace rinha::loadgen {

class PostSeries {
 public:
  // sent_ms: milliseconds after the run's start, non-decreasing from one call to the next.
  void on_sent(int64_t sent_ms);
  // latency_ms only for successful answers (k6's expected_response).
  void on_done(int64_t sent_ms, bool ok, bool timeout, std::optional<double> latency_ms);

  // POSTs sent at or after from_ms.
  int64_t sent_since(int64_t from_ms) const;
  // Seconds that saw a POST sent (the last one's index + 1).
  size_t seconds() const { return seconds_.size(); }
  // Writes sent, ok, failed, timeouts and p50/p90/p99/max (k6's percentile) into the first
  // min(seconds(), series length) seconds of `series`.
  void fill(report::Series& series) const;

 private:
  struct Second {
    int64_t sent = 0, ok = 0, failed = 0, timeouts = 0;
    std::vector<double> latency_ms;
  };
  Second& at(int64_t ms);

  std::vector<Second> seconds_;
  std::vector<int64_t> sent_ms_;
};

}  // namespace rinha::loadgen
