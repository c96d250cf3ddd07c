// The do-nothing backend's loop (see server.hpp): accept, read, frame, answer, repeat.
// Deliberately no parsing beyond framing, no allocation per request beyond the connection's
// buffer, no logging: it is the floor the latency bench compares rinha against.
#include "instrument/noop/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_map>

#include "common/errno_text.hpp"
#include "instrument/noop/framing.hpp"

namespace rinha::noop {
namespace {

Status errno_status(const std::string& what) {
  return Status::io_error(what + ": " + errno_text(errno));
}

// Writes all of `data` on a non-blocking socket; a response is far below the send buffer, so
// EAGAIN means the peer stopped reading: the connection is dropped (false).
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

NoopServer::~NoopServer() { stop(); }

Status NoopServer::start(const std::string& host, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    return Status::invalid_argument("expected an IPv4 address, got " + host);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return errno_status("socket");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 4096) != 0) {
    Status s = errno_status("bind/listen " + host + ":" + std::to_string(port));
    stop();
    return s;
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    Status s = errno_status("epoll/eventfd");
    stop();
    return s;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { loop(); });
  return Status::ok();
}

void NoopServer::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  for (int* fd : {&listen_fd_, &epoll_fd_, &wake_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void NoopServer::loop() {
  std::unordered_map<int, std::string> conns;  // fd -> bytes received, not yet framed
  auto drop = [&](int fd) {
    ::close(fd);
    conns.erase(fd);
  };
  epoll_event events[64];
  char buf[16384];
  for (;;) {
    int n = ::epoll_wait(epoll_fd_, events, 64, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        for (auto& [c, unused] : conns) ::close(c);
        return;
      }
      if (fd == listen_fd_) {
        for (;;) {
          int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          int one = 1;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.fd = c;
          ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c, &ev);
          conns[c];
        }
        continue;
      }
      std::string& in = conns[fd];
      bool open = true;
      for (;;) {
        ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r > 0) {
          in.append(buf, static_cast<size_t>(r));
          continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) open = false;
        break;
      }
      // Answer every whole request received (pipelined ones too), in order.
      size_t used = 0;
      while (open) {
        Framed f = frame_request(std::string_view(in).substr(used));
        if (f.bad) open = false;
        if (f.length == 0) break;
        used += f.length;
        open = write_all(fd, response_for(f));
      }
      in.erase(0, used);
      if (!open) drop(fd);
    }
  }
}

}  // namespace rinha::noop
