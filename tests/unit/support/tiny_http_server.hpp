// A tiny HTTP/1.1 server for unit tests of HTTP clients: one thread per connection, keeps
// connections alive, answers each request with the Action its handler returns (status, body,
// delay, or hang up without answering). Loopback only, port chosen by the kernel.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace rinha::testing {

struct Action {
  int status = 200;
  std::string body = "{}";
  int delay_ms = 0;
  bool hang_up = false;  // read the request, then close without answering
};

struct SeenRequest {
  std::string head;
  std::string body;
};

// One thread per connection; keeps connections alive; answers by the handler's Action.
class TinyServer {
 public:
  explicit TinyServer(std::function<Action(const SeenRequest&)> handler)
      : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    REQUIRE(::listen(fd_, 1024) == 0);
    acceptor_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        connections_.fetch_add(1);
        std::scoped_lock l(mu_);
        conn_fds_.push_back(c);
        conns_.emplace_back([this, c] { serve(c); });
      }
    });
  }
  ~TinyServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    acceptor_.join();
    std::scoped_lock l(mu_);
    for (int c : conn_fds_) ::shutdown(c, SHUT_RDWR);
    for (auto& t : conns_) t.join();
    for (int c : conn_fds_) ::close(c);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  std::vector<SeenRequest> seen() {
    std::scoped_lock l(mu_);
    return seen_;
  }

 private:
  void serve(int c) {
    std::string buf;
    char tmp[4096];
    while (true) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
        if (n <= 0) return;
        buf.append(tmp, static_cast<size_t>(n));
      }
      SeenRequest r;
      r.head = buf.substr(0, end + 4);
      size_t clen = 0;
      if (auto p = r.head.find("Content-Length: "); p != std::string::npos)
        clen = std::stoul(r.head.substr(p + 16));
      while (buf.size() < end + 4 + clen) {
        ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
        if (n <= 0) return;
        buf.append(tmp, static_cast<size_t>(n));
      }
      r.body = buf.substr(end + 4, clen);
      buf.erase(0, end + 4 + clen);
      {
        std::scoped_lock l(mu_);
        seen_.push_back(r);
      }
      Action a = handler_(r);
      if (a.delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(a.delay_ms));
      if (a.hang_up) {
        ::shutdown(c, SHUT_RDWR);
        return;
      }
      std::string resp = "HTTP/1.1 " + std::to_string(a.status) +
                         " X\r\nContent-Length: " + std::to_string(a.body.size()) +
                         "\r\nContent-Type: application/json\r\n\r\n" + a.body;
      if (::send(c, resp.data(), resp.size(), MSG_NOSIGNAL) < 0) return;
    }
  }

  std::function<Action(const SeenRequest&)> handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<int> conn_fds_;
  std::vector<std::thread> conns_;
  std::vector<SeenRequest> seen_;
  std::thread acceptor_;
};

// A loopback port that nothing listens on.
inline int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace rinha::testing
