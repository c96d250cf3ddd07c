// Hand-off client: one thread, one connection to the worker, batching payments from every HTTP
// thread into PAYMENTS frames. Reads config: worker.listen, handoff.batch_max,
// handoff.reply_timeout_ms, handoff.durability (through ClientOptions).
// Requests made while the worker is unreachable wait (up to the reply timeout) for a reconnect,
// so a worker restart shorter than the timeout is invisible to HTTP clients.
// LATE ACKS. The worker answers a connection's frames in order, so on a live connection a
// payments frame is never lost, only late: it is not resent when its ack is late while the worker
// answers others (a resend of every frame in flight doubled an overloaded worker's work, all of
// it duplicates). Payments are resent when the connection is lost, when the worker refuses
// them, and when the worker has answered nothing for reply_timeout_ms while a frame waits (a
// peer gone without a word, e.g. over TCP): then the connection is presumed lost and replaced.
#include "handoff/client.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

#include "net/socket.hpp"

namespace rinha::handoff {

using Clock = std::chrono::steady_clock;

namespace {

struct PayReq {  // owned by the client from deliver() until the worker acks it
  AcceptedPayment payment;
};
struct SummaryReq {
  summary::Window window;
  SteadyTime asked_at;
  SummaryCompletion* done;
};
struct PurgeReq {
  Completion* done;
};
struct Request {
  std::variant<PayReq, SummaryReq, PurgeReq> body;
  Clock::time_point deadline;
};

struct InFlight {
  std::vector<AcceptedPayment> owned;  // kPayments: to retry or report
  SummaryCompletion* summary = nullptr;
  Completion* purge = nullptr;
  Clock::time_point deadline;
};

// Owned payments are not failed here: see Impl::retry_owned.
void fail(InFlight& f, const Status& s) {
  if (f.summary) f.summary->done(s);
  if (f.purge) f.purge->done(s);
}

void fail(Request& r, const Status& s) {
  if (auto* q = std::get_if<SummaryReq>(&r.body)) q->done->done(s);
  if (auto* q = std::get_if<PurgeReq>(&r.body)) q->done->done(s);
}

}  // namespace

struct Client::Impl {
  ClientOptions opts;
  std::mutex mu;
  std::vector<Request> incoming;  // guarded by mu
  net::Fd wake{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
  // The linger's end, armed by the pushing thread: the client thread wakes once per frame, when
  // the linger is over, instead of once to start the linger and again at its end (a wake-up on
  // the api's shared core costs more than the syscall itself).
  net::Fd linger_timer{::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)};
  // Set from the first push() after a drain until the next drain: later pushes neither wake the
  // thread nor re-arm the timer.
  std::atomic<bool> wake_pending{false};
  std::atomic<bool> stopping{false};
  std::thread thread;

  // Client-thread state.
  net::Fd sock;
  FrameDecoder decoder;
  std::string out;
  size_t out_pos = 0;
  uint64_t next_seq = 1;
  std::deque<Request> waiting;
  std::map<uint64_t, InFlight> inflight;
  Clock::time_point next_connect{};
  Clock::time_point retry_at{};    // after a refusal, owned payments wait until then
  Clock::time_point last_heard{};  // the connection's last reply (or its opening)
  Clock::time_point drain_at = Clock::time_point::max();  // woken: take incoming then
  bool warned = false;

  explicit Impl(ClientOptions o) : opts(std::move(o)) {}

  void push(Request r, bool is_urgent) {
    {
      std::lock_guard lock(mu);
      incoming.push_back(std::move(r));
    }
    // A summary or purge waits for no linger: the eventfd wakes the thread at once.
    if (wake_pending.exchange(true) && !is_urgent) return;
    if (!is_urgent && opts.linger_us > 0) {
      const long ns = static_cast<long>(opts.linger_us) * 1000;
      const itimerspec at{{0, 0}, {ns / 1'000'000'000, ns % 1'000'000'000}};
      if (::timerfd_settime(linger_timer.get(), 0, &at, nullptr) == 0) return;
    }
    uint64_t one = 1;
    [[maybe_unused]] auto w = ::write(wake.get(), &one, sizeof one);
  }

  void run() {
    while (!stopping.load()) {
      auto now = Clock::now();
      if (!sock.valid() && now >= next_connect) try_connect(now);
      if (now >= drain_at) {
        drain_at = Clock::time_point::max();
        // Cleared before taking the queue: a push after the swap below wakes us again.
        wake_pending.store(false);
        drain_incoming();
      }
      if (sock.valid() && now >= retry_at) send_waiting();
      if (sock.valid() && !flush()) drop_connection("write failed");
      expire(Clock::now());

      pollfd fds[3] = {{wake.get(), POLLIN, 0},
                       {linger_timer.get(), POLLIN, 0},
                       {sock.valid() ? sock.get() : -1, 0, 0}};
      if (sock.valid())
        fds[2].events = static_cast<short>(POLLIN | (out_pos < out.size() ? POLLOUT : 0));
      const timespec timeout = poll_timeout();
      int r = ::ppoll(fds, 3, &timeout, nullptr);
      if (r <= 0) continue;
      // Either is the end of a linger, or a request that waits for none (summary, purge,
      // linger_us 0, stop): drain now.
      for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & POLLIN)) continue;
        uint64_t v;
        [[maybe_unused]] auto rd = ::read(fds[i].fd, &v, sizeof v);
        drain_at = Clock::now();
      }
      if (sock.valid() && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) read_replies();
    }
    Status s = Status::unavailable("api shutting down");
    drain_incoming();
    for (auto& r : waiting) fail(r, s);
    for (auto& [seq, f] : inflight) fail(f, s);
    waiting.clear();
    inflight.clear();
  }

  void try_connect(Clock::time_point now) {
    auto fd = net::connect_to(opts.address);
    if (!fd.is_ok()) {
      if (!warned)
        spdlog::warn("handoff: worker unreachable at {}: {}", opts.address, fd.status().message());
      warned = true;
      next_connect = now + std::chrono::milliseconds(20);
      return;
    }
    if (warned) spdlog::info("handoff: connected to worker at {}", opts.address);
    warned = false;
    sock = std::move(fd).value();
    last_heard = now;
    decoder = FrameDecoder();
    out.clear();
    out_pos = 0;
  }

  void drop_connection(const char* why) {
    spdlog::warn("handoff: lost worker connection ({})", why);
    sock.reset();
    // The worker may or may not have taken these: waiters are told it failed, owned payments
    // are sent again (the worker ignores ids it already has).
    Status s = Status::unavailable("worker connection lost");
    for (auto& [seq, f] : inflight) {
      fail(f, s);
      retry_owned(f);
    }
    inflight.clear();
    next_connect = Clock::now();
  }

  void retry_owned(InFlight& f) {
    for (auto& p : f.owned) waiting.push_back(Request{PayReq{p}, Clock::time_point::max()});
    f.owned.clear();
  }

  void drain_incoming() {
    std::vector<Request> batch;
    {
      std::lock_guard lock(mu);
      batch.swap(incoming);
    }
    for (auto& r : batch) waiting.push_back(std::move(r));
  }

  void send_waiting() {
    Frame pay;
    InFlight pay_flight;
    auto close_pay = [&] {
      if (pay.payments.empty()) return;
      pay.type = FrameType::kPayments;
      pay.seq = next_seq++;
      encode(pay, out);
      inflight.emplace(pay.seq, std::move(pay_flight));
      pay = Frame();
      pay_flight = InFlight();
    };
    while (!waiting.empty()) {
      Request r = std::move(waiting.front());
      waiting.pop_front();
      if (auto* p = std::get_if<PayReq>(&r.body)) {
        pay.payments.push_back(p->payment);
        pay_flight.owned.push_back(p->payment);
        // No deadline while waiting; once sent, the ack is awaited this long before a resend.
        auto d =
            std::min(r.deadline, Clock::now() + std::chrono::milliseconds(opts.reply_timeout_ms));
        if (pay_flight.owned.size() == 1 || d < pay_flight.deadline) pay_flight.deadline = d;
        if (static_cast<int>(pay.payments.size()) >= opts.batch_max) close_pay();
      } else if (auto* s = std::get_if<SummaryReq>(&r.body)) {
        close_pay();  // payments delivered before the summary reach the worker before it
        Frame f;
        f.type = FrameType::kSummaryRequest;
        f.seq = next_seq++;
        f.from_ms = s->window.from_ms;
        f.to_ms = s->window.to_ms;
        f.asked_ns = s->asked_at.time_since_epoch().count();
        encode(f, out);
        InFlight fl;
        fl.summary = s->done;
        fl.deadline = r.deadline;
        inflight.emplace(f.seq, std::move(fl));
      } else if (auto* g = std::get_if<PurgeReq>(&r.body)) {
        close_pay();  // and before a purge, which must clear them
        Frame f;
        f.type = FrameType::kPurgeRequest;
        f.seq = next_seq++;
        encode(f, out);
        InFlight fl;
        fl.purge = g->done;
        fl.deadline = r.deadline;
        inflight.emplace(f.seq, std::move(fl));
      }
    }
    close_pay();
  }

  bool flush() {
    while (out_pos < out.size()) {
      ssize_t w = ::write(sock.get(), out.data() + out_pos, out.size() - out_pos);
      if (w > 0) {
        out_pos += static_cast<size_t>(w);
      } else if (w < 0 && errno == EINTR) {
        continue;
      } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return true;
      } else {
        return false;
      }
    }
    out.clear();
    out_pos = 0;
    return true;
  }

  void read_replies() {
    char buf[64 * 1024];
    for (;;) {
      ssize_t r = ::read(sock.get(), buf, sizeof buf);
      if (r > 0) {
        last_heard = Clock::now();
        decoder.feed(std::string_view(buf, static_cast<size_t>(r)));
        if (static_cast<size_t>(r) < sizeof buf) break;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      drop_connection(r == 0 ? "closed by worker" : "read failed");
      return;
    }
    for (;;) {
      auto next = decoder.next();
      if (!next.is_ok()) {
        drop_connection("malformed reply");
        return;
      }
      if (!next->has_value()) return;
      const Frame& f = **next;
      auto it = inflight.find(f.seq);
      if (it == inflight.end()) continue;  // already timed out
      InFlight fl = std::move(it->second);
      inflight.erase(it);
      Status s = f.status == 0 ? Status::ok() : Status::unavailable("worker refused the request");
      if (f.type == FrameType::kSummaryReply && fl.summary) {
        if (s.is_ok())
          fl.summary->done(f.totals);
        else
          fl.summary->done(s);
      } else {
        if (fl.purge) fl.purge->done(s);
        if (!fl.owned.empty()) {
          if (!s.is_ok()) {
            retry_owned(fl);
            retry_at = Clock::now() + std::chrono::milliseconds(50);  // refused: pause, then again
          } else if (opts.on_delivered) {
            std::vector<Uuid> ids;
            ids.reserve(fl.owned.size());
            for (const auto& p : fl.owned) ids.push_back(p.id);
            opts.on_delivered(ids);
          }
        }
      }
    }
  }

  // When a payments frame past its deadline makes the connection suspect (LATE ACKS).
  Clock::time_point silent_deadline(const InFlight& f) const {
    return std::max(f.deadline, last_heard + std::chrono::milliseconds(opts.reply_timeout_ms));
  }

  void expire(Clock::time_point now) {
    Status s = Status::timeout("worker did not answer in time");
    bool silent = false;
    for (auto it = inflight.begin(); it != inflight.end();) {
      if (!it->second.owned.empty()) {  // late, not lost: kept unless the worker fell silent
        silent = silent || silent_deadline(it->second) <= now;
        ++it;
      } else if (it->second.deadline <= now) {
        fail(it->second, s);
        it = inflight.erase(it);
      } else {
        ++it;
      }
    }
    if (silent) drop_connection("no reply within the reply timeout");
    // Owned payments have no deadline; they wait for the worker.
    for (auto it = waiting.begin(); it != waiting.end();) {
      bool owned = std::holds_alternative<PayReq>(it->body);
      if (!owned && it->deadline <= now) {
        fail(*it, s);
        it = waiting.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Until the next deadline, at most 100 ms; to the microsecond (a linger is a few ms).
  timespec poll_timeout() const {
    auto now = Clock::now();
    auto soonest = std::min(now + std::chrono::milliseconds(100), drain_at);
    for (const auto& [seq, f] : inflight)
      soonest = std::min(soonest, f.owned.empty() ? f.deadline : silent_deadline(f));
    if (!waiting.empty())
      soonest = std::min(soonest, sock.valid() ? std::max(now, retry_at) : next_connect);
    auto us =
        std::max<int64_t>(std::chrono::ceil<std::chrono::microseconds>(soonest - now).count(), 0);
    return timespec{static_cast<time_t>(us / 1'000'000), static_cast<long>(us % 1'000'000) * 1000};
  }
};

Client::Client(ClientOptions opts) : impl_(std::make_unique<Impl>(std::move(opts))) {}

Client::~Client() { stop(); }

Status Client::start() {
  if (!impl_->wake.valid()) return Status::io_error("eventfd failed");
  if (!impl_->linger_timer.valid()) return Status::io_error("timerfd_create failed");
  impl_->thread = std::thread([this] { impl_->run(); });
  return Status::ok();
}

void Client::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stopping = true;
  uint64_t one = 1;
  [[maybe_unused]] auto w = ::write(impl_->wake.get(), &one, sizeof one);
  impl_->thread.join();
}

void Client::deliver(const AcceptedPayment& p) {
  impl_->push(Request{PayReq{p}, Clock::time_point::max()}, false);
}

void Client::summarize(const summary::Window& w, SummaryCompletion* c, SteadyTime asked_at) {
  impl_->push(Request{SummaryReq{w, asked_at, c},
                      Clock::now() + std::chrono::milliseconds(impl_->opts.reply_timeout_ms)},
              true);
}

void Client::purge(Completion* c) {
  impl_->push(
      Request{PurgeReq{c}, Clock::now() + std::chrono::milliseconds(impl_->opts.reply_timeout_ms)},
      true);
}

}  // namespace rinha::handoff
