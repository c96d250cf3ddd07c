// The api role's HTTP server (Pistache): validates requests, hands payments to the worker and
// answers without waiting for any processor. Owns the hand-off client.
// Threading: handlers run on Pistache reactor threads and never wait for the worker or a
// processor; POST /payments does block on its journal append (one write(2), plus fdatasync with
// handoff.durability machine). A handler's response is written to the socket before the handler
// returns, and an accepted payment is handed off only after that. Replies that need the worker
// (summary, purge) are sent later from the hand-off client thread (Pistache queues them to the
// reactor).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "common/time.hpp"
#include "config/config.hpp"

namespace rinha::api {

// Counters for GET /metrics; all monotonically increasing.
struct ApiStats {
  std::atomic<uint64_t> payments_accepted{0};
  std::atomic<uint64_t> payments_rejected{0};     // 4xx
  std::atomic<uint64_t> payments_unavailable{0};  // 503: the api journal append failed
  std::atomic<uint64_t> summaries_ok{0};
  std::atomic<uint64_t> summaries_failed{0};  // 4xx and 503
  std::atomic<uint64_t> purges{0};
};

// The slice of the configuration the api reads. Its parts are config::Config's own structs, so
// each key keeps its one default there.
struct ApiConfig {
  config::Config::Api api;
  config::Config::Handoff handoff;  // batch_max, reply_timeout_ms, linger_us, durability
  std::string worker_listen;        // worker.listen: where the hand-off connects
  // cluster.peers: the other nodes' workers; summaries and purges fan out to them too.
  std::vector<std::string> peer_workers;
};
ApiConfig api_config(const config::Config& cfg);

class ApiServer {
 public:
  // The clock must outlive the server.
  ApiServer(const ApiConfig& cfg, const Clock& clock);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds api.listen (port 0 picks a free port) and serves on background threads.
  Status start();
  void stop();
  uint16_t port() const;  // the bound port, after start()
  const ApiStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The api role: start, wait for SIGINT/SIGTERM, stop. Returns the process exit code.
int run(const config::Config& cfg);

}  // namespace rinha::api
