#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>

#include "net/address.hpp"
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
