// Sampler: once a second during a run, the machine's load average and CPU busy share
// (/proc/loadavg, /proc/stat) and, when a URL is given, the worker's queue and in-flight gauges
// from its GET /metrics (a 500 ms timeout; an unreachable worker only leaves gaps).
// Threading: start() runs one thread until stop(); samples() and scrapes_ok() after stop().
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/time.hpp"
#include "instrument/report/machine.hpp"
#include "instrument/report/run_record.hpp"

namespace rinha::report {

class Sampler {
 public:
  // Sample k is taken at start + (k + 1) s and describes second k of the run.
  Sampler(std::string worker_metrics_url, SteadyTime start);
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  void start();
  void stop();  // idempotent; joins

  // Copies the samples into series (which must be long enough; later seconds are dropped).
  void fill(Series& series) const;
  int64_t scrapes_ok() const { return scrapes_ok_; }

 private:
  struct Sample {
    std::optional<double> load1, cpu_busy_pct;
    WorkerGauges worker;
  };
  void loop();

  std::string url_;
  SteadyTime start_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<Sample> samples_;  // written by the thread, read after stop()
  int64_t scrapes_ok_ = 0;       // idem
};

}  // namespace rinha::report
