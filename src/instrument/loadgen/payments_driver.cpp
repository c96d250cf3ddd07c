// The `payments` scenario on one libcurl multi thread (see payments_driver.hpp). Each VU owns an
// easy handle; connections stay in the multi's cache between iterations, so each VU reuses a
// keep-alive connection as a k6 VU does. Latency is curl's own transfer time minus connect
// (k6's http_req_duration), not the loop's view, so loop jitter does not inflate it.
#include "instrument/loadgen/payments_driver.hpp"

#include <curl/curl.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <queue>
#include <random>
#include <vector>

#include "common/errno_text.hpp"
#include "common/uuid.hpp"
#include "instrument/loadgen/profile.hpp"

namespace rinha::loadgen {
namespace {

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

struct Vu {
  CURL* easy = nullptr;
  std::string body;
  bool started = false;
  int64_t sent_ms = 0;  // of the request in flight, after the start
};

std::string uuid_v4(std::mt19937_64& rng) {
  Uuid id;
  for (size_t i = 0; i < 16; i += 8) {
    uint64_t r = rng();
    for (size_t j = 0; j < 8; ++j) id.bytes[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0f) | 0x40);
  id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3f) | 0x80);
  return format_uuid(id);
}

bool is_success(long status) {
  return status == 200 || status == 201 || status == 202 || status == 204;
}

}  // namespace

void run_payments(const PaymentsOptions& opts, SteadyTime start, LatencyRecorder& latency,
                  PaymentsCounters& counters, const std::atomic<bool>& stop, PostSeries* series) {
  using Clock = std::chrono::steady_clock;
  if (opts.realtime) {
    sched_param sp{};
    sp.sched_priority = 10;
    int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
    if (rc != 0)
      std::fprintf(stderr, "load: --realtime: %s (continuing)\n", errno_text(rc).c_str());
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(opts.vus + 16));
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Connection: keep-alive");
  headers = curl_slist_append(headers, "Expect:");
  std::mt19937_64 rng{std::random_device{}()};
  const SteadyTime end = start + std::chrono::milliseconds(opts.duration_ms);

  std::vector<Vu> vus(static_cast<size_t>(opts.vus));
  for (size_t i = 0; i < vus.size(); ++i) {
    CURL* e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, opts.url.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(opts.timeout.count()));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_PRIVATE, reinterpret_cast<void*>(i));
    vus[i].easy = e;
  }

  // Wake-ups: (time, vu). A VU is scheduled at its ramp start, then 1 s after each response.
  using Wake = std::pair<SteadyTime, size_t>;
  std::priority_queue<Wake, std::vector<Wake>, std::greater<Wake>> wakes;
  for (size_t i = 0; i < vus.size(); ++i)
    wakes.push(
        {start + std::chrono::milliseconds(
                     opts.ramp ? vu_start_ms(static_cast<int>(i), opts.vus, opts.duration_ms) : 0),
         i});

  auto fire = [&](size_t i) {
    Vu& vu = vus[i];
    if (!vu.started) {
      vu.started = true;
      counters.vus.fetch_add(1);
    }
    vu.body = "{\"correlationId\":\"" + uuid_v4(rng) + "\",\"amount\":" + opts.amount_json + "}";
    curl_easy_setopt(vu.easy, CURLOPT_POSTFIELDS, vu.body.c_str());
    curl_easy_setopt(vu.easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(vu.body.size()));
    curl_multi_add_handle(multi, vu.easy);
    vu.sent_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    if (series) series->on_sent(vu.sent_ms);
    counters.sent.fetch_add(1);
    counters.in_flight.fetch_add(1);
  };

  FILE* trace = opts.trace_path.empty() ? nullptr : std::fopen(opts.trace_path.c_str(), "w");
  int64_t in_flight = 0;
  while (!stop.load()) {
    SteadyTime now = Clock::now();
    while (!wakes.empty() && wakes.top().first <= now) {
      size_t i = wakes.top().second;
      wakes.pop();
      if (now < end) {
        fire(i);
        ++in_flight;
      }
    }
    if (in_flight == 0 && (wakes.empty() || now >= end)) break;
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL* e = m->easy_handle;
      void* priv = nullptr;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
      long status = 0;
      if (m->data.result == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      if (m->data.result == CURLE_OPERATION_TIMEDOUT) counters.timeouts.fetch_add(1);
      if (is_success(status)) {
        counters.ok.fetch_add(1);
      } else {
        counters.failed.fetch_add(1);
      }
      std::optional<double> took_ms;
      if (m->data.result == CURLE_OK) {
        curl_off_t total = 0, connect = 0;
        curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total);
        curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect);
        latency.add_if_expected(status, std::chrono::microseconds(total - connect));
        took_ms = static_cast<double>(total - connect) / 1000.0;
        if (trace)
          std::fprintf(
              trace, "%lld %lld %lld %ld\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start)
                      .count()),
              static_cast<long long>(total - connect), static_cast<long long>(connect), status);
      }
      if (series)
        series->on_done(vus[reinterpret_cast<size_t>(priv)].sent_ms, is_success(status),
                        m->data.result == CURLE_OPERATION_TIMEDOUT, took_ms);
      curl_multi_remove_handle(multi, e);
      --in_flight;
      counters.in_flight.fetch_sub(1);
      wakes.push({Clock::now() + opts.think, reinterpret_cast<size_t>(priv)});
    }
    // Sleep until the next wake-up or socket activity, at most 50 ms (stop flag, end time).
    int wait_ms = 50;
    if (!wakes.empty()) {
      auto until = std::chrono::ceil<std::chrono::milliseconds>(wakes.top().first - Clock::now());
      wait_ms = static_cast<int>(std::clamp<int64_t>(until.count(), 0, 50));
    }
    curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
  }

  for (Vu& vu : vus) {
    curl_multi_remove_handle(multi, vu.easy);  // harmless when not added
    curl_easy_cleanup(vu.easy);
  }
  curl_multi_cleanup(multi);
  if (trace) std::fclose(trace);
  curl_slist_free_all(headers);
}

}  // namespace rinha::loadgen
