#include <arpa/inet.h>
#include <netinet/in.h>
#include <pistache/endpoint.h>
#include <pistache/router.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>

#include "net/address.hpp"
#include "net/pistache_reply.hpp"
#include "net/prometheus_text.hpp"
#include "net/signals.hpp"
#include "net/socket.hpp"

using namespace rinha::net;

TEST_CASE("host:port: hosts are normalized and ports checked") {
  auto a = parse_host_port("127.0.0.1:8080");
  REQUIRE(a.is_ok());
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 8080);
  CHECK(parse_host_port("localhost:9999")->host == "127.0.0.1");
  CHECK(parse_host_port(":80")->host == "0.0.0.0");
  CHECK(parse_host_port("*:80")->host == "0.0.0.0");
  CHECK(parse_host_port("0.0.0.0:0")->port == 0);
  CHECK(parse_host_port("h:65535")->port == 65535);
  CHECK_FALSE(parse_host_port("h:65536").is_ok());
  CHECK_FALSE(parse_host_port("h:").is_ok());
  CHECK_FALSE(parse_host_port("h:80x").is_ok());
  CHECK_FALSE(parse_host_port("h:-1").is_ok());
  CHECK_FALSE(parse_host_port("8080").is_ok());
  CHECK_FALSE(parse_host_port("h:0000080").is_ok());
}

TEST_CASE("endpoint: unix paths or host:port") {
  auto u = parse_endpoint("unix:/run/rinha/worker.sock");
  REQUIRE(u.is_ok());
  CHECK(u->is_unix());
  CHECK(u->unix_path == "/run/rinha/worker.sock");
  auto t = parse_endpoint("localhost:7000");
  REQUIRE(t.is_ok());
  CHECK_FALSE(t->is_unix());
  CHECK(t->tcp.port == 7000);
  CHECK_FALSE(parse_endpoint("unix:").is_ok());
  CHECK_FALSE(parse_endpoint("unix:/" + std::string(200, 'x')).is_ok());
  CHECK_FALSE(parse_endpoint("nowhere").is_ok());
}

TEST_CASE("listen_on and connect_to agree on TCP and Unix addresses") {
  auto l = listen_on("127.0.0.1:0");
  REQUIRE(l.is_ok());
  // Port 0 picked a free one; connecting needs it, so read it back.
  sockaddr_in sin{};
  socklen_t len = sizeof sin;
  REQUIRE(::getsockname(l->get(), reinterpret_cast<sockaddr*>(&sin), &len) == 0);
  auto c = connect_to("127.0.0.1:" + std::to_string(ntohs(sin.sin_port)));
  REQUIRE(c.is_ok());
  CHECK(c->valid());

  const std::string path = "/tmp/rinha-net-test-" + std::to_string(::getpid()) + ".sock";
  auto ul = listen_on("unix:" + path);
  REQUIRE(ul.is_ok());
  auto uc = connect_to("unix:" + path);
  REQUIRE(uc.is_ok());
  ::unlink(path.c_str());
  CHECK_FALSE(connect_to("unix:" + path).is_ok());
  CHECK_FALSE(connect_to("no-such-host:80").is_ok());
}

TEST_CASE("termination signals are received by wait_for and never kill the process") {
  const TerminationSignals signals;
  CHECK_FALSE(signals.wait_for(std::chrono::milliseconds(20)).has_value());
  REQUIRE(::raise(SIGTERM) == 0);  // blocked: stays pending instead of terminating us
  CHECK(signals.wait_for(std::chrono::milliseconds(1000)) == SIGTERM);
  REQUIRE(::raise(SIGINT) == 0);
  CHECK(signals.wait() == SIGINT);
  REQUIRE(::raise(SIGPIPE) == 0);  // ignored
}

TEST_CASE("Prometheus text: TYPE lines, labels only when given, seconds with 6 digits") {
  PrometheusText t;
  t.counter("a_total", 3);
  t.type("b_total", "counter");
  t.value("b_total", "x=\"1\"", int64_t{-2});
  t.value("b_total", "x=\"2\"", uint64_t{18446744073709551615u});
  t.gauge("c", 0);
  t.seconds("d_sum", "p=\"q\"", 1.5);
  CHECK(t.take() ==
        "# TYPE a_total counter\na_total 3\n"
        "# TYPE b_total counter\nb_total{x=\"1\"} -2\nb_total{x=\"2\"} 18446744073709551615\n"
        "# TYPE c gauge\nc 0\n"
        "d_sum{p=\"q\"} 1.500000\n");
  CHECK(t.take().empty());  // take() leaves the writer empty
}

namespace {

// One raw HTTP/1.1 exchange on `fd`: writes `request`, reads one answer (headers and a body of
// Content-Length bytes). Empty when the peer closed or stayed silent for 2 s.
std::string exchange(int fd, const std::string& request) {
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size()))
    return {};
  std::string in;
  for (;;) {
    size_t head_end = in.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      size_t cl = in.find("Content-Length: ");
      size_t len = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
      if (in.size() >= head_end + 4 + len) return in;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return {};
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return {};
    in.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

TEST_CASE("Pistache replies keep the connection unless the request asked to close it") {
  using namespace Pistache;
  Rest::Router router;
  Rest::Routes::Get(router, "/json", [](const Rest::Request& req, Http::ResponseWriter w) {
    reply(w, Http::Code::Ok, "{}", BodyType::kJson, wants_keep_alive(req));
    return Rest::Route::Result::Ok;
  });
  Rest::Routes::Get(router, "/text", [](const Rest::Request&, Http::ResponseWriter w) {
    reply(w, Http::Code::Ok, "x 1\n", BodyType::kText);
    return Rest::Route::Result::Ok;
  });
  Http::Endpoint endpoint(Address("127.0.0.1", Port(0)));
  endpoint.init(Http::Endpoint::options().threads(1));
  endpoint.setHandler(router.handler());
  endpoint.serveThreaded();
  const std::string at = "127.0.0.1:" + std::to_string(static_cast<uint16_t>(endpoint.getPort()));

  auto c = connect_to(at);
  REQUIRE(c.is_ok());
  // No Connection header either way: Pistache's "Connection: Close" is gone (HTTP/1.1 default).
  std::string a = exchange(c->get(), "GET /json HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(a.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(a.find("Connection") == std::string::npos);
  CHECK(a.find("Content-Type: application/json") != std::string::npos);
  // The same connection serves the next request.
  std::string b = exchange(c->get(), "GET /text HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(b.find("Content-Type: text/plain") != std::string::npos);
  CHECK(b.find("Connection") == std::string::npos);
  // A client that asks to close is told so.
  std::string last =
      exchange(c->get(), "GET /json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  CHECK(last.find("Connection: Close") != std::string::npos);
  // HTTP/1.0 without "Connection: keep-alive" is told the connection closes (its default).
  auto old = connect_to(at);
  REQUIRE(old.is_ok());
  std::string one = exchange(old->get(), "GET /json HTTP/1.0\r\nHost: t\r\n\r\n");
  CHECK(one.find(" 200") != std::string::npos);
  CHECK(one.find("Connection: Close") != std::string::npos);
  endpoint.shutdown();
}
