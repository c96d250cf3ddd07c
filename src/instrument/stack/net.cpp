// free_port and wait_http_ok: loopback only. Reads no config.
#include "instrument/stack/net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "instrument/http/http_client.hpp"

namespace rinha::stack {

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("free_port: socket");
    std::abort();
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("free_port: bind");
    std::abort();
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string loopback_address(int port) { return "127.0.0.1:" + std::to_string(port); }

namespace {

Status wait_http(const std::string& url, std::chrono::milliseconds timeout,
                 const std::function<bool()>& still_running, bool any_status) {
  using Steady = std::chrono::steady_clock;
  const auto deadline = Steady::now() + timeout;
  std::string last = "no attempt";
  http::HttpRequest req;
  req.url = url;
  req.timeout = std::chrono::milliseconds(1000);
  while (true) {
    if (still_running && !still_running())
      return Status::unavailable(url + ": the process behind it exited (last: " + last + ")");
    auto r = http::http_send(req);
    if (r.is_ok()) {
      if (any_status || (r->status >= 200 && r->status < 300)) return Status::ok();
      last = "HTTP " + std::to_string(r->status);
    } else {
      last = r.status().message();
    }
    if (Steady::now() >= deadline)
      return Status::timeout(url + ": no 2xx within " + std::to_string(timeout.count()) +
                             " ms (last: " + last + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

Status wait_http_ok(const std::string& url, std::chrono::milliseconds timeout,
                    const std::function<bool()>& still_running) {
  return wait_http(url, timeout, still_running, false);
}

Status wait_http_answer(const std::string& url, std::chrono::milliseconds timeout,
                        const std::function<bool()>& still_running) {
  return wait_http(url, timeout, still_running, true);
}

}  // namespace rinha::stack
