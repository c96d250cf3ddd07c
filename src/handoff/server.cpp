// Hand-off server: one epoll thread accepts api connections, decodes frames, calls the Sink and
// queues replies. Reads config: worker.listen (through the address given).
// A connection that sends a malformed frame is closed; others are unaffected.
#include "handoff/server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <unordered_map>

#include "net/socket.hpp"

namespace rinha::handoff {

struct Server::Impl {
  std::string address;
  Sink& sink;
  net::Fd listener, epoll, wake;
  std::thread thread;
  std::atomic<bool> stopping{false};

  struct Conn {
    net::Fd fd;
    FrameDecoder decoder;
    std::string out;
    size_t out_pos = 0;
    bool want_write = false;
  };
  std::unordered_map<int, Conn> conns;
  static constexpr std::chrono::milliseconds kFlushEvery{5};

  Impl(std::string a, Sink& s) : address(std::move(a)), sink(s) {}

  void run() {
    epoll_event events[64];
    while (!stopping.load()) {
      int n = ::epoll_wait(epoll.get(), events, 64, 500);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wake.get()) continue;
        if (fd == listener.get()) {
          accept_all();
          continue;
        }
        auto it = conns.find(fd);
        if (it == conns.end()) continue;
        bool ok = true;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ok = on_readable(it->second);
        if (ok && (events[i].events & EPOLLOUT)) ok = flush(it->second);
        if (!ok) close_conn(fd);
      }
    }
  }

  void accept_all() {
    for (;;) {
      int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on AF_UNIX
      Conn c;
      c.fd = net::Fd(fd);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev);
      conns.emplace(fd, std::move(c));
    }
  }

  bool on_readable(Conn& c) {
    char buf[64 * 1024];
    for (;;) {
      ssize_t r = ::read(c.fd.get(), buf, sizeof buf);
      if (r > 0) {
        c.decoder.feed(std::string_view(buf, static_cast<size_t>(r)));
        if (static_cast<size_t>(r) < sizeof buf) break;
        continue;
      }
      if (r == 0) return false;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return false;
    }
    auto flushed = std::chrono::steady_clock::now();
    for (;;) {
      auto next = c.decoder.next();
      if (!next.is_ok()) {
        spdlog::warn("handoff: closing connection: {}", next.status().message());
        return false;
      }
      if (!next->has_value()) break;
      handle(**next, c.out);
      // A long read's replies go out as they are made, not all after its last frame: the api
      // takes a worker silent for its reply timeout as lost (LATE ACKS, client.cpp), and a
      // summary's answer need not wait for the frames read after it.
      const auto now = std::chrono::steady_clock::now();
      if (now - flushed >= kFlushEvery) {
        if (!flush(c)) return false;
        flushed = now;
      }
    }
    return flush(c);
  }

  void handle(const Frame& f, std::string& out) {
    Frame reply;
    reply.seq = f.seq;
    switch (f.type) {
      case FrameType::kPayments:
        reply.type = FrameType::kPaymentsAck;
        reply.status = sink.accept(f.payments).is_ok() ? 0 : 1;
        break;
      case FrameType::kSummaryRequest: {
        reply.type = FrameType::kSummaryReply;
        summary::Window w{f.from_ms, f.to_ms};
        auto r = sink.summarize(w, SteadyTime(std::chrono::nanoseconds(f.asked_ns)));
        reply.status = r.is_ok() ? 0 : 1;
        if (r.is_ok()) reply.totals = *r;
        break;
      }
      case FrameType::kPurgeRequest:
        reply.type = FrameType::kPurgeReply;
        reply.status = sink.purge().is_ok() ? 0 : 1;
        break;
      default:
        return;  // replies sent to the worker are ignored
    }
    encode(reply, out);
  }

  bool flush(Conn& c) {
    while (c.out_pos < c.out.size()) {
      ssize_t w = ::write(c.fd.get(), c.out.data() + c.out_pos, c.out.size() - c.out_pos);
      if (w > 0) {
        c.out_pos += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return false;
    }
    if (c.out_pos == c.out.size()) {
      c.out.clear();
      c.out_pos = 0;
    }
    bool want = !c.out.empty();
    if (want != c.want_write) {
      epoll_event ev{};
      ev.events = want ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
      ev.data.fd = c.fd.get();
      ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
      c.want_write = want;
    }
    return true;
  }

  void close_conn(int fd) {
    ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
    conns.erase(fd);
  }
};

Server::Server(std::string address, Sink& sink)
    : impl_(std::make_unique<Impl>(std::move(address), sink)) {}

Server::~Server() { stop(); }

Status Server::start() {
  auto l = net::listen_on(impl_->address);
  if (!l.is_ok()) return l.status();
  impl_->listener = std::move(l).value();
  impl_->epoll = net::Fd(::epoll_create1(EPOLL_CLOEXEC));
  impl_->wake = net::Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  for (int fd : {impl_->listener.get(), impl_->wake.get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(impl_->epoll.get(), EPOLL_CTL_ADD, fd, &ev);
  }
  impl_->thread = std::thread([this] { impl_->run(); });
  return Status::ok();
}

void Server::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stopping = true;
  uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(impl_->wake.get(), &one, sizeof one);
  impl_->thread.join();
  impl_->conns.clear();
}

}  // namespace rinha::handoff
