// Transport: what the worker's dispatcher needs from the payment processors, as an interface it
// owns: the three calls, an event pump, and the per-processor in-flight accounting that the
// router reads. The libcurl client (processor/client.hpp) is the production implementation; the
// tests drive the dispatcher through a scripted in-memory one on a ManualClock.
// Threading: every method except wakeup() is called from the one thread that calls run_once();
// callbacks run on that thread inside run_once().
//
// Outcomes are an enum, not a bool: kTimeout and kReset mean the request left us and its effect
// is UNKNOWN (the processor may have inserted the payment); callers must look the payment up
// before sending it anywhere again. kConnectFailed and kTooMany mean nothing was done.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/processor_id.hpp"
#include "common/uuid.hpp"
#include "processor/processor_format.hpp"

namespace rinha::processor {

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

class Transport {
 public:
  using Callback = std::function<void(const Reply&)>;
  virtual ~Transport() = default;

  // POST /payments (the endpoint's own timeout).
  virtual void pay(Processor p, const PaymentRequest& req, Callback cb) = 0;
  // GET /payments/{id}.
  virtual void lookup(Processor p, const Uuid& id, int timeout_ms, Callback cb) = 0;
  // GET /payments/service-health.
  virtual void health(Processor p, int timeout_ms, Callback cb) = 0;

  // Waits up to max_wait_ms for activity or wakeup(), and runs the callbacks of the requests
  // that completed.
  virtual void run_once(int max_wait_ms) = 0;
  // Makes a run_once() in progress return early. Safe from any thread.
  virtual void wakeup() = 0;

  virtual int in_flight(Processor p) const = 0;
  virtual int capacity(Processor p) const = 0;
};

}  // namespace rinha::processor
