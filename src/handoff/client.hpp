// Hand-off client (api side): one persistent connection to the worker, shared by all of the
// api's HTTP threads. Payments submitted from any thread are batched into PAYMENTS frames; each
// completion runs (on the client's thread) when the worker acks, or with an error after
// handoff.reply_timeout_ms or if the connection is lost. Reconnects by itself.
// With durability "none" a payment completes as soon as it is queued in this process.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.hpp"
#include "handoff/handoff_format.hpp"
#include "summary/summary.hpp"

namespace rinha::handoff {

struct ClientOptions {
  std::string address;        // worker.listen
  int batch_max = 256;
  int reply_timeout_ms = 1000;
  bool ack_before_reply = true;  // false = durability none
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

  // Thread-safe. The client owns c until it calls c->done(); c deletes itself there if it wants.
  void submit(const AcceptedPayment& p, Completion* c);
  void summarize(const summary::Window& w, SummaryCompletion* c);
  void purge(Completion* c);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rinha::handoff
