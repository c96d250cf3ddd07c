// Hand-off client (api side): one persistent connection to the worker, shared by all of the
// api's HTTP threads. Payments are batched into PAYMENTS frames. Reconnects by itself.
//   deliver(): the client owns the payment until the worker acks it, resending it after a
//     refusal or a lost connection (a worker silent for reply_timeout_ms while frames wait
//     counts as lost), not merely because its ack is late, for as long as it takes;
//     on_delivered reports the acked ids.
//     POST /payments answers before this hand-off (see api/server.cpp).
//   summarize()/purge(): the caller waits; the completion runs on the client thread with the
//     worker's answer, or an error after reply_timeout_ms.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "handoff/handoff_format.hpp"
#include "summary/summary.hpp"

namespace rinha::handoff {

// worker.listen and handoff.* of config::Config, which holds each knob's one default: none here.
struct ClientOptions {
  std::string address;  // worker.listen
  int batch_max;
  int reply_timeout_ms;
  // Called on the client thread with the ids of delivered payments, once the worker acked them.
  std::function<void(const std::vector<Uuid>&)> on_delivered;
  // How long payments wait after the first of them wakes the client thread, so that those
  // arriving meanwhile go in the same frame (one write, one ack, one journal record); 0 = none.
  // Summaries and purges never wait.
  int linger_us;
};

// Called exactly once per request, from the client thread.
class Completion {
 public:
  virtual ~Completion() = default;
  virtual void done(Status s) = 0;
};
class SummaryCompletion {
 public:
  virtual ~SummaryCompletion() = default;
  virtual void done(Result<summary::SummaryTotals> r) = 0;
};

class Client {
 public:
  explicit Client(ClientOptions opts);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Status start();
  void stop();

  // Thread-safe. Never fails: retried until the worker acks (then on_delivered).
  void deliver(const AcceptedPayment& p);
  // Thread-safe. The client owns c until it calls c->done(); c deletes itself there if it wants.
  // asked_at: when the request reached us (steady clock; the worker must share this host's);
  // the worker answers as of then (see Sink). SteadyTime{}: as of the frame's arrival.
  void summarize(const summary::Window& w, SummaryCompletion* c, SteadyTime asked_at = {});
  void purge(Completion* c);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rinha::handoff
