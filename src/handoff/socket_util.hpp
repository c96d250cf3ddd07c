// Stream sockets for the hand-off: "unix:/path" or "host:port" (IPv4 literal or localhost).
// Returned descriptors are owned by the caller (wrap in Fd) and are non-blocking, CLOEXEC.
#pragma once

#include <string>
#include <utility>

#include "common/status.hpp"

namespace rinha::handoff {

// Owns a file descriptor; closes it on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

// Binds and listens; a stale Unix socket file at the path is removed first.
Result<Fd> listen_on(const std::string& address);
// Connects (blocking connect, bounded by the OS for loopback), then switches to non-blocking.
Result<Fd> connect_to(const std::string& address);

}  // namespace rinha::handoff
