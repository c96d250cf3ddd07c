// Hand-off server (worker side): accepts api connections on worker.listen, decodes frames and
// hands them to a Sink, writing each reply on the connection the request came from.
// Threading: one thread of its own runs the accept/read/write loop; Sink calls are made from
// that thread, one at a time, so Sink methods must be quick (no network waits).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/status.hpp"
#include "handoff/handoff_format.hpp"
#include "summary/summary.hpp"

namespace rinha::handoff {

// What the worker provides.
class Sink {
 public:
  virtual ~Sink() = default;
  // Takes the batch. OK means the worker owns these payments now at the configured durability
  // (the api then marks them settled in its journal); an error makes the api send the whole
  // batch again later (its clients already had their 202).
  // Duplicate ids (already accepted before) are answered OK and not processed again.
  virtual Status accept(const std::vector<AcceptedPayment>& batch) = 0;
  // Totals of settled payments whose requestedAt lies in the window, as of asked_at (when the
  // api received the request: steady clock, same host; SteadyTime{} = now), not of the frame's
  // later arrival: the
  // checker queries the processors in parallel with us, so what settled while the request
  // travelled through the api and the hand-off was not yet counted there either.
  virtual Result<summary::SummaryTotals> summarize(const summary::Window& w,
                                                   SteadyTime asked_at) = 0;
  // Forgets every payment: settled, queued and in flight.
  virtual Status purge() = 0;
};

class Server {
 public:
  // address: "unix:/path" or "host:port". The Sink must outlive the Server.
  Server(std::string address, Sink& sink);
  ~Server();  // stops
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the loop thread. Fails if the address cannot be bound.
  Status start();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rinha::handoff
