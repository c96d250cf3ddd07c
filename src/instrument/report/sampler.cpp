// The 1 Hz sampler of a run (see sampler.hpp). Reads /proc and, when set, the worker's /metrics.
#include "instrument/report/sampler.hpp"

#include <chrono>

#include "instrument/http/http_client.hpp"

namespace rinha::report {

Sampler::Sampler(std::string worker_metrics_url, SteadyTime start)
    : url_(std::move(worker_metrics_url)), start_(start) {}

Sampler::~Sampler() { stop(); }

void Sampler::start() {
  thread_ = std::thread([this] { loop(); });
}

void Sampler::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void Sampler::loop() {
  auto cpu = parse_cpu_times(read_text_file("/proc/stat"));
  for (size_t k = 0; !stop_.load(); ++k) {
    const auto at = start_ + std::chrono::seconds(k + 1);
    while (std::chrono::steady_clock::now() < at) {
      if (stop_.load()) return;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          at - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
    }
    Sample s;
    auto load = parse_loadavg(read_text_file("/proc/loadavg"));
    if (!load.empty()) s.load1 = load[0];
    auto now_cpu = parse_cpu_times(read_text_file("/proc/stat"));
    if (cpu && now_cpu) s.cpu_busy_pct = busy_pct(*cpu, *now_cpu);
    cpu = now_cpu;
    if (!url_.empty()) {
      http::HttpRequest req;
      req.url = url_;
      req.timeout = std::chrono::milliseconds(500);
      auto r = http::http_send(req);
      if (r.is_ok() && r->status == 200) {
        s.worker = parse_worker_gauges(r->body);
        ++scrapes_ok_;
      }
    }
    samples_.push_back(s);
  }
}

void Sampler::fill(Series& series) const {
  const size_t n = std::min(samples_.size(), series.sent.size());
  for (size_t k = 0; k < n; ++k) {
    const Sample& s = samples_[k];
    series.load1[k] = s.load1;
    series.cpu_busy_pct[k] = s.cpu_busy_pct;
    series.backlog[k] = s.worker.backlog;
    series.in_flight_default[k] = s.worker.in_flight_default;
    series.in_flight_fallback[k] = s.worker.in_flight_fallback;
  }
}

}  // namespace rinha::report
