// LatencyRecorder: durations of every successful request of a run (k6's
// http_req_duration{expected_response:true}: POSTs, summaries and admin calls alike).
// Thread-safe: add() from any thread; one mutex.
#pragma once

#include <algorithm>
#include <chrono>
#include <mutex>
#include <vector>

namespace rinha::loadgen {

class LatencyRecorder {
 public:
  void add(std::chrono::microseconds d) {
    std::scoped_lock lock(mu_);
    ms_.push_back(static_cast<double>(d.count()) / 1000.0);
  }
  // Only 2xx and 3xx count, as k6's default expected_response.
  void add_if_expected(long status, std::chrono::microseconds d) {
    if (status >= 200 && status < 400) add(d);
  }
  std::vector<double> sorted_ms() const {
    std::scoped_lock lock(mu_);
    std::vector<double> v = ms_;
    std::sort(v.begin(), v.end());
    return v;
  }

 private:
  mutable std::mutex mu_;
  std::vector<double> ms_;  // GUARDED_BY(mu_)
};

}  // namespace rinha::loadgen
