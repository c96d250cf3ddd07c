// Processor emulator: an HTTP server that behaves like the organizers' payment processor
// (spec §2 and §6) so that rinhad and rinhactl can be run and tested without Docker.
// It owns the Pistache endpoint, the in-memory payments, the delay/failure/token settings, the
// two limiters and the timer thread that answers delayed requests (no reactor thread sleeps).
// Ours only, for tests: GET /admin/health-calls counts the health calls received.
// Threading: start()/stop() from one controlling thread; handlers run on Pistache threads and
// the timer thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.hpp"

namespace rinha::emulator {

struct EmulatorOptions {
  std::string name = "default";  // only shown in logs
  std::string host = "127.0.0.1";
  uint16_t port = 0;           // 0: any free port, see Emulator::port()
  std::string fee = "0.05";    // TRANSACTION_FEE, decimal text (0.05 = 5 %)
  std::string token = "123";   // INITIAL_TOKEN
  int threads = 2;             // Pistache reactor threads
  int rate_limit_seconds = 5;  // RATE_LIMIT_SECONDS: health window length
  size_t permits = 800;        // concurrency limiter permits
  size_t queue = 500;          // concurrency limiter FIFO queue
  size_t health_queue = 2;     // health limiter FIFO queue
  // What the real processor spends past its configured delay, which the official one does not
  // model: its database insert takes insert_latency_ms + uniform [0, insert_jitter_ms] (after
  // the delay, before the commit), and its runtime may hold the 200 for commit_pause_ms after
  // the commit (the payment already counts in its summary meanwhile). The insert time can be
  // changed while running: PUT /admin/configurations/insert {"latency": ms, "jitter": ms}
  // (ours only; answers the previous values as "was").
  int insert_latency_ms = 0;
  int insert_jitter_ms = 0;
  int commit_pause_ms = 0;
};

class Emulator {
 public:
  explicit Emulator(EmulatorOptions options);
  ~Emulator();  // stops if running
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Binds and serves in background threads. Fails with kInvalidArgument on a bad fee text and
  // kIoError when the address cannot be bound.
  Status start();
  // Drops delayed requests still waiting (their connections close) and stops the server.
  void stop();
  // The bound port (after start()).
  uint16_t port() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rinha::emulator
