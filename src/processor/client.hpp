// Processor client: asynchronous HTTP/1.1 calls to both payment processors over one libcurl
// multi handle, hundreds of requests in flight on one thread, keep-alive connections reused.
// Owns: the multi handle, a pool of easy handles, the per-processor in-flight counts.
// Threading: every method except wakeup() must be called from the one thread that calls
// run_once() (the worker's scheduling loop); callbacks run on that thread inside run_once().
//
// Outcomes are an enum, not a bool: kTimeout and kReset mean the request left us and its effect
// is UNKNOWN (the processor may have inserted the payment); callers must look the payment up
// before sending it anywhere again. kConnectFailed and kTooMany mean nothing was done.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "processor/processor_format.hpp"
#include "router/processor_id.hpp"

namespace rinha::processor {

using router::Processor;

enum class Outcome : uint8_t {
  kOk,             // 2xx
  kDuplicate,      // 422: the correlationId is already recorded there
  kNotFound,       // 404 (lookups: the processor has no such payment)
  kTooMany,        // 429: refused by the processor's limiter before any work
  kRejected,       // any other 4xx, or a non-HTTP answer: our request is wrong
  kServerError,    // 5xx
  kTimeout,        // sent, no complete answer in time: unknown
  kReset,          // sent, then the connection broke: unknown
  kConnectFailed,  // never sent (connect refused / timed out, resolve failure)
};

// True when the processor may or may not have acted on the request.
inline bool is_unknown(Outcome o) { return o == Outcome::kTimeout || o == Outcome::kReset; }
const char* outcome_name(Outcome o);

struct Reply {
  Outcome outcome = Outcome::kConnectFailed;
  long http_status = 0;
  std::string body;
  std::chrono::milliseconds elapsed{0};  // from start to completion
};

struct EndpointConfig {
  std::string base_url;    // e.g. http://127.0.0.1:8001 (no trailing slash needed)
  int timeout_ms = 15000;  // POST /payments whole-request timeout
  int connect_timeout_ms = 1000;
  int max_connections = 400;  // connections kept and requests in flight to this processor
};

class Client {
 public:
  using Callback = std::function<void(const Reply&)>;

  // Fails only on curl initialisation errors (throws std::runtime_error at start-up).
  explicit Client(std::array<EndpointConfig, 2> endpoints);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // POST /payments.
  void pay(Processor p, const PaymentRequest& req, Callback cb);
  // GET /payments/{id}.
  void lookup(Processor p, const Uuid& id, int timeout_ms, Callback cb);
  // GET /payments/service-health.
  void health(Processor p, int timeout_ms, Callback cb);

  // Waits up to max_wait_ms for socket activity or wakeup(), advances every transfer and runs
  // the callbacks of those that completed.
  void run_once(int max_wait_ms);
  // Makes a run_once() in progress return early. Safe from any thread.
  void wakeup();

  int in_flight(Processor p) const { return in_flight_[router::index(p)]; }
  int capacity(Processor p) const { return endpoints_[router::index(p)].max_connections; }
  size_t total_in_flight() const { return active_; }

 private:
  struct Transfer;
  void start(Processor p, const std::string& path, std::string body, int timeout_ms, Callback cb);
  void finish(Transfer* t, int curl_code);

  std::array<EndpointConfig, 2> endpoints_;
  std::array<int, 2> in_flight_{0, 0};
  size_t active_ = 0;
  void* multi_ = nullptr;                        // CURLM*
  void* headers_ = nullptr;                      // curl_slist* shared by every request
  std::vector<std::unique_ptr<Transfer>> free_;  // idle transfers with their easy handles
  std::unordered_set<Transfer*> running_;        // owned; added to multi_
};

}  // namespace rinha::processor
