// Payment traffic and ledger audits for the reliability tests (chaos, PostgreSQL outage, bad
// input): a paced POST /payments driver that remembers every correlationId it sent and what
// came back, our summary against the processors' admin summaries, and a per-id audit on both
// processors (GET /payments/{id}) that finds lost and double-charged payments.
//
// Threading: PaymentTraffic runs its own sender threads; stop() joins them, after which sent()
// is stable. The free functions block the calling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.hpp"
#include "instrument/http/http_client.hpp"

namespace rinha::testsupport {

struct Totals {
  int64_t requests = 0;
  int64_t cents = 0;
  friend bool operator==(const Totals&, const Totals&) = default;
};
std::ostream& operator<<(std::ostream& o, const Totals& t);

struct SentPayment {
  std::string id;
  int64_t cents = 0;
  long status = 0;  // HTTP status; 0 = no answer (timeout, reset, refused)
};

// A request as the tests send them: 5 s timeout, the processors' admin token (our api ignores it).
http::HttpRequest request(const std::string& method, const std::string& url,
                          const std::string& body = "", const std::string& token = "123");

// "19.90" from 1990.
std::string cents_text(int64_t cents);
// A random version-4 UUID.
std::string random_uuid(uint64_t& state);

class PaymentTraffic {
 public:
  // per_second POSTs to <base_url>/payments, spread over threads keep-alive connections, with
  // random ids and amounts of 0.01 .. 100.00.
  PaymentTraffic(std::string base_url, int per_second, int threads = 4);
  ~PaymentTraffic();
  PaymentTraffic(const PaymentTraffic&) = delete;
  PaymentTraffic& operator=(const PaymentTraffic&) = delete;

  void stop();
  int64_t accepted() const { return accepted_.load(); }  // 2xx so far
  int64_t refused() const { return refused_.load(); }    // anything else so far
  std::vector<SentPayment> sent();                       // complete after stop()

 private:
  void run(int index, int threads);

  std::string base_url_;
  int per_second_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> accepted_{0}, refused_{0};
  std::mutex mu_;
  std::vector<SentPayment> sent_;  // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

// Our /payments-summary (through api_url) and both processors' admin summaries, optionally for
// [from, to] in epoch milliseconds.
struct Ledgers {
  Totals ours_default, ours_fallback, proc_default, proc_fallback;
  bool consistent() const { return ours_default == proc_default && ours_fallback == proc_fallback; }
  int64_t processor_requests() const { return proc_default.requests + proc_fallback.requests; }
  friend bool operator==(const Ledgers&, const Ledgers&) = default;
};
std::ostream& operator<<(std::ostream& o, const Ledgers& l);

struct Endpoints {
  std::string api;  // HAProxy or one api
  std::string default_url;
  std::string fallback_url;
  std::string token = "123";
};

Result<Ledgers> read_ledgers(const Endpoints& e,
                             std::optional<std::pair<int64_t, int64_t>> window = std::nullopt);

// Polls until our summary equals the processors' and they hold at least min_requests payments
// (and that has stayed so for two reads), or until timeout; returns the last reading.
Result<Ledgers> wait_settled(const Endpoints& e, int64_t min_requests,
                             std::chrono::milliseconds timeout);

// The value of one sample ("name" or "name{labels}", exactly as served) on a Prometheus text page;
// nullopt when the page is unreachable or lacks it.
std::optional<double> metric_sample(const std::string& metrics_url, const std::string& series);

// Polls pred every 50 ms until it holds or `within` has passed; returns its last value. For
// waiting on a condition instead of sleeping for a guessed time.
bool eventually(std::chrono::milliseconds within, const std::function<bool()>& pred);

// An emulator's GET /admin/health-calls: health calls it received and how many of those it
// rejected with 429; nullopt when it does not answer.
struct HealthCalls {
  int64_t received = 0;
  int64_t rejected = 0;
};
std::optional<HealthCalls> health_calls(const std::string& emulator_url);

// Looks every sent payment up on both processors.
struct Audit {
  int64_t accepted = 0;               // 2xx answers
  int64_t recorded = 0;               // accepted and found on exactly one processor
  int64_t lost = 0;                   // accepted and found on none
  int64_t double_charged = 0;         // found on both (accepted or not)
  int64_t wrong_amount = 0;           // found with another amount than sent
  int64_t unanswered_recorded = 0;    // not 2xx (e.g. 502 while an api died) yet recorded once
  std::vector<std::string> examples;  // a few offending ids, for messages
};
std::ostream& operator<<(std::ostream& o, const Audit& a);
Result<Audit> audit_payments(const std::vector<SentPayment>& sent, const Endpoints& e,
                             int threads = 4);

}  // namespace rinha::testsupport
