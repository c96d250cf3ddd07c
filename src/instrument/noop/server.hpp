// The do-nothing backend behind `rinhactl noop`: one thread, one epoll loop, keep-alive
// HTTP/1.1, every request answered at once from framing.hpp's canned responses. The latency
// bench's floor: what any backend costs at least on the same core, with nothing of ours in it.
// Threading: start()/stop() from one controlling thread; the loop runs on its own thread.
#pragma once

#include <cstdint>
#include <string>
#include <thread>

#include "common/status.hpp"

namespace rinha::noop {

class NoopServer {
 public:
  NoopServer() = default;
  ~NoopServer();  // stops if running
  NoopServer(const NoopServer&) = delete;
  NoopServer& operator=(const NoopServer&) = delete;

  // Binds host:port (IPv4 literal; port 0: any free) and serves on a background thread.
  // Fails with kIoError when the address cannot be bound, kInvalidArgument on a bad host.
  Status start(const std::string& host, uint16_t port);
  // Closes every connection and joins the loop. Idempotent.
  void stop();
  uint16_t port() const { return port_; }

 private:
  void loop();

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop() wakes the loop through it
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace rinha::noop
