// The `payments` scenario on one epoll thread (see payments_driver.hpp). Each VU owns one
// keep-alive TCP connection, as a k6 VU does, and the loop times each POST itself: from right
// before its send(2) to right after the recv(2) that completes the answer (k6's
// http_req_duration: sending + waiting + receiving, connect excluded).
//
// Why not libcurl multi (what this was until issue 12): curl_multi_perform handles every ready
// transfer in one pass, ~50 us of curl per transfer here, its completions all read one clock,
// and the loop slept in whole milliseconds. VUs due in the same millisecond left as one burst,
// finished with one timestamp and so came due together again 1 s later: bursts only grew (up
// to 163 POSTs at 560/s in the full final shape against `rinhactl noop`), and the first POST of
// a burst waited for curl to send all the others before its answer was read (p50 2.3 ms against
// a backend answering in 0.15). Here timers have nanosecond resolution (epoll_pwait2), a POST
// costs the loop a send, a recv and its share of an epoll_wait, and the answer's arrival is the
// kernel's receive timestamp (SO_TIMESTAMPNS), not the moment this one thread got round to
// reading it: a k6 VU is a goroutine of its own, and VUs that one stall put in step (a server
// answering them back to back) still send as a burst, one thread taking ~10 us per send. Each
// VU's next iteration starts 1 s after its own answer arrived.
#include "instrument/loadgen/payments_driver.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <queue>
#include <random>
#include <vector>

#include "common/errno_text.hpp"
#include "common/uuid.hpp"
#include "instrument/loadgen/profile.hpp"
#include "instrument/loadgen/response_framing.hpp"
#include "net/fd.hpp"

namespace rinha::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

struct Target {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string host_header;  // host[:port] as in the URL
  std::string path;
};

// http://host[:port]/path, the host resolved once (IPv4 preferred, as "localhost" should reach
// a server bound to 127.0.0.1). nullopt, with a message on stderr, when it cannot be used.
std::optional<Target> resolve(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) {
    std::fprintf(stderr, "load: only http:// targets are supported (%s)\n", url.c_str());
    return std::nullopt;
  }
  std::string rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  Target t;
  t.host_header = rest.substr(0, slash);
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string host = t.host_header, port = "80";
  if (!host.empty() && host.front() == '[') {  // [v6]:port
    const size_t close = host.find(']');
    if (close != std::string::npos && close + 1 < host.size() && host[close + 1] == ':')
      port = host.substr(close + 2);
    host = host.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  } else if (const size_t colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host.resize(colon);
  }
  for (int family : {AF_INET, AF_UNSPEC}) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) continue;
    std::memcpy(&t.addr, res->ai_addr, res->ai_addrlen);
    t.addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return t;
  }
  std::fprintf(stderr, "load: cannot resolve %s\n", host.c_str());
  return std::nullopt;
}

enum class Phase { kIdle, kConnecting, kSending, kReading };

struct Vu {
  net::Fd fd;
  Phase phase = Phase::kIdle;
  bool started = false;
  bool want_out = false;  // EPOLLOUT in the connection's epoll set
  uint64_t gen = 0;       // bumped at each iteration's start and end: older timers are stale
  std::string out;        // the request; out_done bytes of it sent
  size_t out_done = 0;
  std::string in;
  SteadyTime begun{};        // iteration start: the timeout counts from here, connect included
  SteadyTime sent{};         // right before the request's first send(2)
  int64_t sent_real_ns = 0;  // the same instant on CLOCK_REALTIME, the kernel stamps' clock
  int64_t rx_real_ns = 0;    // kernel receive stamp of the answer's last segment read, 0: none
  int64_t connect_us = 0;    // 0 on a reused connection
  int64_t sent_ms = 0;       // after the run's start (PostSeries)
};

struct Timer {
  SteadyTime at;
  size_t vu;
  uint64_t gen;
  bool operator>(const Timer& o) const { return at > o.at; }
};

std::string uuid_v4(std::mt19937_64& rng) {
  Uuid id;
  for (size_t i = 0; i < 16; i += 8) {
    uint64_t r = rng();
    for (size_t j = 0; j < 8; ++j) id.bytes[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0f) | 0x40);
  id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3f) | 0x80);
  return format_uuid(id);
}

bool is_success(int status) {
  return status == 200 || status == 201 || status == 202 || status == 204;
}

int64_t micros(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

class Driver {
 public:
  Driver(const PaymentsOptions& opts, Target target, SteadyTime start, LatencyRecorder& latency,
         PaymentsCounters& counters, PostSeries* series)
      : opts_(opts),
        target_(std::move(target)),
        start_(start),
        end_(start + std::chrono::milliseconds(opts.duration_ms)),
        latency_(latency),
        counters_(counters),
        series_(series),
        epoll_(epoll_create1(EPOLL_CLOEXEC)),
        vus_(static_cast<size_t>(opts.vus)),
        rng_(std::random_device{}()) {}

  void run(const std::atomic<bool>& stop) {
    for (size_t i = 0; i < vus_.size(); ++i)
      timers_.push(
          {start_ +
               std::chrono::milliseconds(
                   opts_.ramp ? vu_start_ms(static_cast<int>(i), opts_.vus, opts_.duration_ms) : 0),
           i, 0});
    if (!opts_.trace_path.empty()) trace_ = std::fopen(opts_.trace_path.c_str(), "w");
    epoll_event evs[64];
    while (!stop.load()) {
      SteadyTime now = Clock::now();
      while (!timers_.empty() && timers_.top().at <= now) {
        const Timer t = timers_.top();
        timers_.pop();
        Vu& vu = vus_[t.vu];
        if (t.gen != vu.gen) continue;
        if (vu.phase != Phase::kIdle) {
          fail(t.vu, /*timed_out=*/true);
        } else if (now < end_) {
          begin(t.vu, now);
        }
        now = Clock::now();
      }
      if (in_flight_ == 0 && (timers_.empty() || now >= end_)) break;
      // Until the next timer, at most 50 ms (the stop flag).
      int64_t wait_ns = 50'000'000;
      if (!timers_.empty())
        wait_ns = std::clamp<int64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(timers_.top().at - now).count(), 0,
            wait_ns);
      const timespec ts{wait_ns / 1'000'000'000, wait_ns % 1'000'000'000};
      const int n = epoll_pwait2(epoll_.get(), evs, 64, &ts, nullptr);
      for (int e = 0; e < n; ++e) on_ready(evs[e].data.u64, evs[e].events);
    }
    if (trace_) std::fclose(trace_);
  }

 private:
  // A new iteration: a fresh payment on the VU's connection (opened first if it has none).
  void begin(size_t i, SteadyTime now) {
    Vu& vu = vus_[i];
    if (!vu.started) {
      vu.started = true;
      counters_.vus.fetch_add(1);
    }
    const std::string body =
        "{\"correlationId\":\"" + uuid_v4(rng_) + "\",\"amount\":" + opts_.amount_json + "}";
    vu.out = "POST " + target_.path + " HTTP/1.1\r\nHost: " + target_.host_header +
             "\r\nUser-Agent: rinhactl-load\r\nContent-Type: application/json\r\n"
             // Pistache (an api addressed directly) closes 1.1 connections without it.
             "Connection: keep-alive\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    vu.out_done = 0;
    vu.in.clear();
    vu.begun = now;
    vu.connect_us = 0;
    vu.sent_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - start_).count();
    ++vu.gen;
    timers_.push({now + opts_.timeout, i, vu.gen});
    if (series_) series_->on_sent(vu.sent_ms);
    counters_.sent.fetch_add(1);
    counters_.in_flight.fetch_add(1);
    ++in_flight_;
    if (vu.fd.valid()) {
      vu.phase = Phase::kSending;
      stamp_send(vu);
      send_some(i);
    } else {
      connect_vu(i);
    }
  }

  void connect_vu(size_t i) {
    Vu& vu = vus_[i];
    vu.fd = net::Fd(socket(target_.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!vu.fd.valid()) {
      fail(i, false);
      return;
    }
    const int one = 1;
    setsockopt(vu.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(vu.fd.get(), SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    counters_.connects.fetch_add(1);
    vu.phase = Phase::kConnecting;
    if (connect(vu.fd.get(), reinterpret_cast<const sockaddr*>(&target_.addr), target_.addr_len) !=
            0 &&
        errno != EINPROGRESS) {
      fail(i, false);
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;  // writable: connected (or failed)
    ev.data.u64 = i;
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, vu.fd.get(), &ev);
    vu.want_out = true;
  }

  // Level-triggered: EPOLLOUT stays in the set only while it is awaited, or the loop spins.
  void want_out(size_t i, bool out) {
    Vu& vu = vus_[i];
    if (vu.want_out == out) return;
    vu.want_out = out;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0u);
    ev.data.u64 = i;
    epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, vu.fd.get(), &ev);
  }

  static void stamp_send(Vu& vu) {
    vu.sent = Clock::now();
    vu.sent_real_ns = realtime_ns();
    vu.rx_real_ns = 0;
  }

  void send_some(size_t i) {
    Vu& vu = vus_[i];
    const ssize_t n = send(vu.fd.get(), vu.out.data() + vu.out_done, vu.out.size() - vu.out_done,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      fail(i, false);
      return;
    }
    if (n > 0) vu.out_done += static_cast<size_t>(n);
    const bool all = vu.out_done == vu.out.size();
    if (all) vu.phase = Phase::kReading;
    want_out(i, !all);
  }

  void on_ready(size_t i, uint32_t events) {
    Vu& vu = vus_[i];
    switch (vu.phase) {
      case Phase::kIdle:  // the server closed the kept connection (or spoke out of turn)
        vu.fd = net::Fd();
        return;
      case Phase::kConnecting: {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(vu.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
          fail(i, false);
          return;
        }
        stamp_send(vu);
        vu.connect_us = micros(vu.sent - vu.begun);
        vu.phase = Phase::kSending;
        send_some(i);
        return;
      }
      case Phase::kSending:
        if ((events & EPOLLOUT) != 0) send_some(i);
        // An answer (or an error) may come before the whole request went out.
        if (vu.phase == Phase::kIdle || (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR)) == 0) return;
        [[fallthrough]];
      case Phase::kReading:
        read_answer(i);
        return;
    }
  }

  void read_answer(size_t i) {
    Vu& vu = vus_[i];
    char buf[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(vu.fd.get(), &msg, MSG_DONTWAIT);
    const SteadyTime now = Clock::now();
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
      timespec ts{};
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      vu.rx_real_ns = int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) {
      fail(i, false);
      return;
    }
    vu.in.append(buf, static_cast<size_t>(n));
    const FramedResponse r = frame_response(vu.in, n == 0);
    if (r.state == FramedResponse::State::kIncomplete) return;
    if (r.state == FramedResponse::State::kBad) {
      fail(i, false);
      return;
    }
    want_out(i, false);  // answered before the whole request went out
    // Anything past the answer would be an answer to nothing: not a connection to keep.
    if (!r.keep_alive || n == 0 || r.length != vu.in.size() || vu.out_done != vu.out.size())
      vu.fd = net::Fd();
    finish(i, r.status, now);
  }

  // An iteration ends with an answer read at `now`: counted, timed to its arrival, the VU
  // asleep until 1 s after that.
  void finish(size_t i, int status, SteadyTime now) {
    Vu& vu = vus_[i];
    // The kernel's stamp when it is there and sane (a CLOCK_REALTIME step shows as one outside
    // [send, read]), else the read.
    const int64_t read_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - vu.sent).count();
    const int64_t rx_ns = vu.rx_real_ns - vu.sent_real_ns;
    const int64_t took_ns = vu.rx_real_ns != 0 && rx_ns >= 0 && rx_ns <= read_ns ? rx_ns : read_ns;
    now = vu.sent + std::chrono::nanoseconds(took_ns);
    const int64_t took_us = took_ns / 1000;
    (is_success(status) ? counters_.ok : counters_.failed).fetch_add(1);
    latency_.add_if_expected(status, std::chrono::microseconds(took_us));
    if (trace_)
      std::fprintf(trace_, "%lld %lld %lld %d\n", static_cast<long long>(micros(now - start_)),
                   static_cast<long long>(took_us), static_cast<long long>(vu.connect_us), status);
    if (series_)
      series_->on_done(vu.sent_ms, is_success(status), false,
                       static_cast<double>(took_us) / 1000.0);
    end_iteration(i, now);
  }

  // An iteration ends without an answer (timeout, refused, reset, unparsable): the connection
  // is dropped, a new one opened at the next iteration.
  void fail(size_t i, bool timed_out) {
    Vu& vu = vus_[i];
    vu.fd = net::Fd();
    counters_.failed.fetch_add(1);
    if (timed_out) counters_.timeouts.fetch_add(1);
    if (series_) series_->on_done(vu.sent_ms, false, timed_out, std::nullopt);
    end_iteration(i, Clock::now());
  }

  void end_iteration(size_t i, SteadyTime now) {
    Vu& vu = vus_[i];
    vu.phase = Phase::kIdle;
    ++vu.gen;
    timers_.push({now + opts_.think, i, vu.gen});
    --in_flight_;
    counters_.in_flight.fetch_sub(1);
  }

  const PaymentsOptions& opts_;
  const Target target_;
  const SteadyTime start_, end_;
  LatencyRecorder& latency_;
  PaymentsCounters& counters_;
  PostSeries* series_;
  net::Fd epoll_;
  std::vector<Vu> vus_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::mt19937_64 rng_;
  FILE* trace_ = nullptr;
  int64_t in_flight_ = 0;
};

}  // namespace

void run_payments(const PaymentsOptions& opts, SteadyTime start, LatencyRecorder& latency,
                  PaymentsCounters& counters, const std::atomic<bool>& stop, PostSeries* series) {
  if (opts.realtime) {
    sched_param sp{};
    sp.sched_priority = 10;
    int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
    if (rc != 0)
      std::fprintf(stderr, "load: --realtime: %s (continuing)\n", errno_text(rc).c_str());
  }
  std::optional<Target> target = resolve(opts.url);
  if (!target) return;
  Driver(opts, std::move(*target), start, latency, counters, series).run(stop);
}

}  // namespace rinha::loadgen
