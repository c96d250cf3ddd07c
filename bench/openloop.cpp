// openloop: an independent cross-check of `rinhactl load`'s latencies (no libcurl, nothing of
// the project's). Sends POST /payments at a fixed average rate (exponential gaps, open loop)
// over CONNS pre-opened keep-alive connections, round robin over the idle ones, and stamps
// each request itself: CLOCK_MONOTONIC right before send(2) and right after the recv(2) that
// completes the response. Timers to the nanosecond (epoll_pwait2), so that requests due in the
// same millisecond do not leave as one burst.
//
// Build: c++ -O2 -std=c++20 -o openloop bench/openloop.cpp
// Usage: openloop HOST PORT RATE SECONDS CONNS TRACE
// TRACE gets 't_us duration_us 0 status' per response (rinhactl load --trace's format); stderr
// gets the counts, the latency percentiles and how late the sends left against their schedule.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

struct Conn {
  int fd = -1;
  bool busy = false;
  int64_t sent_ns = 0;
  std::string in;
};

// The status once `in` holds a whole response (head + Content-Length body), else 0.
int complete_status(const std::string& in) {
  const size_t head = in.find("\r\n\r\n");
  if (head == std::string::npos) return 0;
  size_t body = 0;
  const size_t cl = in.find("\nContent-Length:");
  const size_t cl2 = in.find("\ncontent-length:");
  const size_t at = std::min(cl, cl2);
  if (at != std::string::npos && at < head) body = std::strtoul(in.c_str() + at + 16, nullptr, 10);
  if (in.size() < head + 4 + body) return 0;
  return std::atoi(in.c_str() + 9);  // "HTTP/1.1 NNN"
}

double pct(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(q * (sorted.size() - 1)));
  return static_cast<double>(sorted[i]) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: openloop HOST PORT RATE SECONDS CONNS TRACE\n");
    return 2;
  }
  const double rate = std::atof(argv[3]);
  const int64_t end_ns = now_ns() + static_cast<int64_t>(std::atof(argv[4]) * 1e9);
  const int nconns = std::atoi(argv[5]);
  FILE* trace = std::fopen(argv[6], "w");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
  inet_pton(AF_INET, argv[1], &addr.sin_addr);
  const int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<size_t>(nconns));
  for (size_t i = 0; i < conns.size(); ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::perror("openloop: connect");
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    conns[i].fd = fd;
  }
  std::mt19937_64 rng{std::random_device{}()};
  std::exponential_distribution<double> gap(rate / 1e9);
  std::vector<int64_t> took, late;
  int64_t start = now_ns(), due = start, skipped = 0, seq = 0;
  size_t rr = 0, in_flight = 0;
  char buf[4096];
  while (due < end_ns || in_flight > 0) {
    int64_t now = now_ns();
    while (due <= now && due < end_ns) {
      size_t tries = 0;
      while (conns[rr].busy && tries++ < conns.size()) rr = (rr + 1) % conns.size();
      if (conns[rr].busy) {
        ++skipped;  // every connection in flight: the rate is over what CONNS can carry
      } else {
        Conn& c = conns[rr];
        char body[128];
        const int n = std::snprintf(body, sizeof body,
                                    "{\"correlationId\":\"00000000-0000-4000-8000-%012llx\","
                                    "\"amount\":19.9}",
                                    static_cast<unsigned long long>(start / 1000 + ++seq));
        const std::string req =
            "POST /payments HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            "Content-Length: " +
            std::to_string(n) + "\r\n\r\n" + std::string(body, static_cast<size_t>(n));
        c.sent_ns = now_ns();
        late.push_back(c.sent_ns - due);
        if (send(c.fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
          std::perror("openloop: send");
          return 1;
        }
        c.busy = true;
        c.in.clear();
        ++in_flight;
        rr = (rr + 1) % conns.size();
      }
      due += static_cast<int64_t>(gap(rng));
      now = now_ns();
    }
    const int64_t wait = due < end_ns ? std::max<int64_t>(0, due - now) : 100000000;
    const timespec ts{wait / 1000000000, wait % 1000000000};
    epoll_event evs[64];
    const int k = epoll_pwait2(ep, evs, 64, &ts, nullptr);
    for (int e = 0; e < k; ++e) {
      Conn& c = conns[evs[e].data.u64];
      const ssize_t r = recv(c.fd, buf, sizeof buf, 0);
      const int64_t t = now_ns();
      if (r <= 0) {
        std::fprintf(stderr, "openloop: connection closed (%zd, errno %d)\n", r, errno);
        return 1;
      }
      c.in.append(buf, static_cast<size_t>(r));
      const int status = complete_status(c.in);
      if (status == 0 || !c.busy) continue;
      c.busy = false;
      --in_flight;
      took.push_back(t - c.sent_ns);
      std::fprintf(trace, "%lld %lld 0 %d\n", static_cast<long long>((t - start) / 1000),
                   static_cast<long long>((t - c.sent_ns) / 1000), status);
    }
  }
  std::fclose(trace);
  std::sort(took.begin(), took.end());
  std::sort(late.begin(), late.end());
  std::fprintf(stderr,
               "sent %zu skipped %lld; ms p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f; "
               "send late p50 %.3f p99 %.3f max %.3f\n",
               late.size(), static_cast<long long>(skipped), pct(took, .5), pct(took, .9),
               pct(took, .99), pct(took, .999), pct(took, 1), pct(late, .5), pct(late, .99),
               pct(late, 1));
  return 0;
}
