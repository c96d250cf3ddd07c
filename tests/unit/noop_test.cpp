// Do-nothing backend: request framing directly, and the server over real loopback sockets
// (libcurl keep-alive requests and raw pipelined bytes).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "instrument/http/http_client.hpp"
#include "instrument/noop/framing.hpp"
#include "instrument/noop/server.hpp"

using namespace rinha;
using namespace rinha::noop;

TEST_CASE("noop framing waits for the whole head and body") {
  const std::string req = "POST /payments HTTP/1.1\r\nHost: x\r\ncontent-length: 5\r\n\r\nhello";
  CHECK(frame_request(req.substr(0, 20)).length == 0);
  CHECK(frame_request(req.substr(0, req.size() - 1)).length == 0);
  const std::string two = req + "GET /next";  // views into it must outlive the checks
  Framed f = frame_request(two);
  CHECK(f.length == req.size());
  CHECK(f.method == "POST");
  CHECK(f.path == "/payments");
  CHECK_FALSE(f.bad);
}

TEST_CASE("noop framing strips the query and picks the canned answer") {
  Framed f = frame_request("GET /payments-summary?from=2025-01-01T00:00:00Z HTTP/1.1\r\n\r\n");
  CHECK(f.path == "/payments-summary");
  CHECK(response_for(f).find("200 OK") != std::string_view::npos);
  CHECK(response_for(frame_request("POST /payments HTTP/1.1\r\n\r\n")).find("202") !=
        std::string_view::npos);
}

TEST_CASE("noop framing rejects what it cannot frame") {
  CHECK(frame_request("POST / HTTP/1.1\r\nContent-Length: x1\r\n\r\n").bad);
  CHECK(frame_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").bad);
  CHECK(frame_request("GARBAGE\r\n\r\n").bad);
  CHECK(frame_request(std::string(kMaxHead + 1, 'a')).bad);
  CHECK_FALSE(frame_request(std::string(100, 'a')).bad);
}

TEST_CASE("noop server answers keep-alive requests with the canned responses") {
  NoopServer server;
  REQUIRE(server.start("127.0.0.1", 0).is_ok());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  http::HttpClient client;
  for (int i = 0; i < 3; ++i) {
    http::HttpRequest post;
    post.method = "POST";
    post.url = base + "/payments";
    post.body = R"({"correlationId":"11111111-1111-4111-8111-111111111111","amount":19.9})";
    auto r = client.send(post);
    REQUIRE(r.is_ok());
    CHECK(r->status == 202);
  }
  http::HttpRequest get;
  get.url = base + "/payments-summary";
  auto s = client.send(get);
  REQUIRE(s.is_ok());
  CHECK(s->status == 200);
  CHECK(
      s->body ==
      R"({"default":{"totalRequests":0,"totalAmount":0},"fallback":{"totalRequests":0,"totalAmount":0}})");
  server.stop();
  CHECK_FALSE(http::http_send(get).is_ok());
}

TEST_CASE("noop server answers pipelined requests in order") {
  NoopServer server;
  REQUIRE(server.start("127.0.0.1", 0).is_ok());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string two =
      "POST /payments HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
      "POST /purge-payments HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
  REQUIRE(::send(fd, two.data(), two.size(), 0) == static_cast<ssize_t>(two.size()));
  std::string got;
  char buf[1024];
  while (got.find("purged") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    REQUIRE(n > 0);
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  CHECK(got.find("202 Accepted") < got.find("200 OK"));
}
