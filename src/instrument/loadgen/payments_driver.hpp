// PaymentsDriver: the `payments` scenario of the official test (spec §5.3): ramping VUs from 1
// to N over the duration, each VU looping POST /payments {fresh uuid v4, amount} with a 1.5 s
// timeout and then sleeping 1 s, over its own keep-alive connection. All VUs run on one epoll
// thread that times each POST itself (payments_driver.cpp says why not libcurl).
// Threading: run() blocks the calling thread until the last iteration ends; the counters are
// atomics that other threads may read for progress.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "common/time.hpp"
#include "instrument/loadgen/latency.hpp"
#include "instrument/loadgen/post_series.hpp"

namespace rinha::loadgen {

struct PaymentsCounters {
  std::atomic<int64_t> sent{0};
  std::atomic<int64_t> ok{0};        // 200, 201, 202, 204
  std::atomic<int64_t> failed{0};    // anything else, timeouts included
  std::atomic<int64_t> timeouts{0};  // part of failed
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> connects{0};  // TCP connections opened: one per VU unless dropped
  std::atomic<int> vus{0};
};

struct PaymentsOptions {
  std::string url;          // http://host:port/payments (plain http only)
  std::string amount_json;  // "19.9": as JSON.stringify writes the script's number
  int vus = 500;
  bool ramp = true;  // false: every VU starts at once (constant rate)
  int64_t duration_ms = 60000;
  std::chrono::milliseconds timeout{1500};
  std::chrono::milliseconds think{1000};  // sleep(1) after each request
  // Run this thread under SCHED_FIFO so that, on a box whose cores the backend shares, the
  // instrument's own scheduling delays stay out of the latencies (needs CAP_SYS_NICE).
  bool realtime = false;
  std::string trace_path;  // when set: one line per POST "t_us duration_us connect_us status"
};

// Runs the scenario starting at `start`. Iterations begun before the end finish; none begins
// after. `stop` set by another thread ends it early. `series`, when given, gets every POST by
// the second it was sent (this thread writes it; read it after the return).
void run_payments(const PaymentsOptions& opts, SteadyTime start, LatencyRecorder& latency,
                  PaymentsCounters& counters, const std::atomic<bool>& stop,
                  PostSeries* series = nullptr);

}  // namespace rinha::loadgen
