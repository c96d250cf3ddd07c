// Processor client: the production Transport (processor/transport.hpp), asynchronous HTTP/1.1
// calls to both payment processors over one libcurl multi handle, hundreds of requests in flight
// on one thread, keep-alive connections reused. Driven by curl_multi_socket_action on an epoll
// set of its own, so that a turn costs what became ready, not what is in flight: the
// curl_multi_poll/perform pair polled every transfer each turn (one poll(2) per transfer: ~400
// syscalls per payment with a 1 s processor; bench/README.md).
// Owns: the multi handle, a pool of easy handles, the per-processor in-flight counts, the epoll
// set and the wake-up eventfd.
// Threading: as Transport (one loop thread; wakeup() from any).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "net/fd.hpp"
#include "processor/transport.hpp"

namespace rinha::processor {

// processors.<name>.* of config::Config, which holds each knob's one default: none here.
struct EndpointConfig {
  std::string base_url;  // e.g. http://127.0.0.1:8001 (no trailing slash needed)
  int timeout_ms;        // POST /payments whole-request timeout
  int connect_timeout_ms;
  int max_connections;  // connections kept and requests in flight to this processor
};

class Client final : public Transport {
 public:
  // Fails only on curl initialisation errors (throws std::runtime_error at start-up).
  explicit Client(std::array<EndpointConfig, 2> endpoints);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void pay(Processor p, const PaymentRequest& req, Callback cb) override;
  void lookup(Processor p, const Uuid& id, int timeout_ms, Callback cb) override;
  void health(Processor p, int timeout_ms, Callback cb) override;
  // Waits for socket activity, advances every transfer, runs the callbacks of finished ones.
  void run_once(int max_wait_ms) override;
  void wakeup() override;

  int in_flight(Processor p) const override { return in_flight_[processor_index(p)]; }
  int capacity(Processor p) const override {
    return endpoints_[processor_index(p)].max_connections;
  }
  size_t total_in_flight() const { return active_; }

 private:
  struct Transfer;
  void start(Processor p, const std::string& path, std::string body, int timeout_ms, Callback cb);
  void finish(Transfer* t, int curl_code);
  // curl's CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION.
  static int on_socket(void* easy, int fd, int what, void* self, void* socketp);
  static int on_timer(void* multi, long timeout_ms, void* self);
  void collect_done();

  std::array<EndpointConfig, 2> endpoints_;
  std::array<int, 2> in_flight_{0, 0};
  size_t active_ = 0;
  void* multi_ = nullptr;                        // CURLM*
  void* headers_ = nullptr;                      // curl_slist* shared by every request
  std::vector<std::unique_ptr<Transfer>> free_;  // idle transfers with their easy handles
  std::unordered_set<Transfer*> running_;        // owned; added to multi_
  net::Fd epoll_;                                // curl's sockets and wake_
  net::Fd wake_;                                 // eventfd: wakeup() from any thread
  // When curl wants curl_multi_socket_action(CURL_SOCKET_TIMEOUT); nullopt = no timer.
  std::optional<std::chrono::steady_clock::time_point> timer_;
};

}  // namespace rinha::processor
