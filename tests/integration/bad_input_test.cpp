// Bad input through HAProxy, table-driven, over raw keep-alive TCP connections so that what
// follows a rejected request on the same connection is checked too: each case gets its
// documented status (README "What runs where": 400 malformed JSON, 415 wrong Content-Type, 422
// invalid fields, 413 too large, 404/405 wrong path or method) with a {"error":...} body where
// the api (or HAProxy's deny rule) produces it; a duplicate correlationId is charged once; an
// oversized body cannot smuggle a request; a slow client still gets its answer; nothing a
// rejected request carried is recorded anywhere, and every server stays up. And what the public
// port answers outside the contract: HAProxy's own 404 for every other path (GET /metrics
// included), the purge token when one is set.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "instrument/http/http_client.hpp"
#include "support/books.hpp"
#include "support/fixture.hpp"
#include "support/traffic.hpp"

using namespace rinha;
using namespace rinha::testsupport;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

namespace {

struct RawResponse {
  int status = 0;
  std::string headers;  // lowercased
  std::string body;
};

// One client TCP connection; requests are written as given, answers parsed by Content-Length.
class RawConn {
 public:
  explicit RawConn(int port) : port_(port) { connect_now(); }
  ~RawConn() { close_now(); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  void connect_now() {
    close_now();
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    buf_.clear();
    ++connects_;
  }
  void close_now() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int connects() const { return connects_; }

  bool write_all(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // The next response, or nullopt if the peer closed (or nothing came within timeout).
  std::optional<RawResponse> read_response(std::chrono::milliseconds timeout = 5000ms) {
    const auto deadline = Steady::now() + timeout;
    while (true) {
      auto r = parse();
      if (r) return r;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

  // Sends and reads; reconnects once if the server had closed this connection.
  RawResponse exchange(const std::string& req, bool* reconnected = nullptr) {
    if (reconnected) *reconnected = false;
    if (write_all(req)) {
      if (auto r = read_response()) return *r;
    }
    connect_now();
    if (reconnected) *reconnected = true;
    REQUIRE(write_all(req));
    auto r = read_response();
    REQUIRE(r.has_value());
    return *r;
  }

 private:
  std::optional<RawResponse> parse() {
    auto end = buf_.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    RawResponse r;
    r.headers = buf_.substr(0, end);
    for (auto& c : r.headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::sscanf(r.headers.c_str(), "http/1.%*d %d", &r.status) != 1) r.status = -1;
    size_t len = 0;
    auto cl = r.headers.find("content-length:");
    if (cl != std::string::npos) len = std::strtoul(r.headers.c_str() + cl + 15, nullptr, 10);
    if (buf_.size() < end + 4 + len) return std::nullopt;
    r.body = buf_.substr(end + 4, len);
    buf_.erase(0, end + 4 + len);
    return r;
  }

  int port_;
  int fd_ = -1;
  int connects_ = 0;
  std::string buf_;
};

std::string http_request(const std::string& method, const std::string& path,
                         const std::string& body = "",
                         const std::string& content_type = "application/json",
                         const std::string& extra_headers = "") {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n";
  if (!content_type.empty()) r += "Content-Type: " + content_type + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + extra_headers + "\r\n" + body;
}

std::string payment(const std::string& id, const std::string& amount) {
  return "{\"correlationId\":\"" + id + "\",\"amount\":" + amount + "}";
}

bool is_json_error(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  return !j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string();
}

struct Case {
  std::string name;
  std::string request;
  std::set<int> statuses;  // any of these
  bool json_error = true;  // a {"error": "..."} body
  std::string id;          // a correlationId the request carried, must never be recorded
};

}  // namespace

TEST_CASE("bad input through HAProxy: documented statuses, nothing recorded, servers stay up") {
  StackFixture f(Parts::whole());
  stack::Stack& st = f.stack();
  const Endpoints ep{st.lb_url(), st.default_url(), st.fallback_url()};
  uint64_t seed = 0x5eed;
  auto id = [&] { return random_uuid(seed); };
  std::vector<SentPayment> valid;  // what we did send correctly, with its answer
  std::vector<SentPayment> rejected;

  const std::string pay = "/payments";
  std::vector<Case> cases;
  auto bad_payment = [&](const std::string& name, const std::string& body_id,
                         const std::string& body, std::set<int> st_) {
    cases.push_back({name, http_request("POST", pay, body), st_, true, body_id});
  };
  std::string i1 = id();
  // 400: the body is not one JSON object.
  bad_payment("truncated JSON", i1, payment(i1, "19.90").substr(0, 50), {400});
  bad_payment("truncated after the amount", i1,
              "{\"correlationId\":\"" + i1 + "\",\"amount\":19.90", {400});
  bad_payment("empty body", "", "", {400});
  bad_payment("not JSON", "", "hello", {400});
  bad_payment("a JSON array", i1, "[" + payment(i1, "1.00") + "]", {400});
  bad_payment("a JSON string", "", "\"19.90\"", {400});
  bad_payment("bytes after the object", i1, payment(i1, "1.00") + "x", {400});
  bad_payment("two objects", i1, payment(i1, "1.00") + payment(i1, "1.00"), {400});
  std::string i2 = id();
  bad_payment("NaN amount", i2, payment(i2, "NaN"), {400});
  bad_payment("Infinity amount", i2, payment(i2, "Infinity"), {400});
  // Not JSON either, but the on-demand parser types a leading '-' as a number and the amount
  // rule rejects the sign first: 422 ("must be greater than 0"). Rejected all the same.
  bad_payment("-Infinity amount", i2, payment(i2, "-Infinity"), {400});
  bad_payment("nesting 400 deep", "", std::string(400, '[') + std::string(400, ']'), {400});
  bad_payment("NUL byte in the body", i2, payment(i2, "1.00").insert(5, 1, '\0'), {400});
  // 422: valid JSON, invalid fields.
  std::string i3 = id();
  bad_payment("amount as a string", i3, payment(i3, "\"19.90\""), {422});
  bad_payment("amount null", i3, payment(i3, "null"), {422});
  bad_payment("amount true", i3, payment(i3, "true"), {422});
  bad_payment("amount an object", i3, payment(i3, "{\"v\":1}"), {422});
  bad_payment("negative amount", i3, payment(i3, "-19.90"), {422});
  bad_payment("zero amount", i3, payment(i3, "0"), {422});
  bad_payment("0.00 amount", i3, payment(i3, "0.00"), {422});
  bad_payment("-0 amount", i3, payment(i3, "-0"), {422});
  bad_payment("three decimals", i3, payment(i3, "19.901"), {422});
  bad_payment("0.001", i3, payment(i3, "0.001"), {422});
  bad_payment("1e-3", i3, payment(i3, "1e-3"), {422});
  bad_payment("above 1,000,000,000.00", i3, payment(i3, "1000000000.01"), {422});
  bad_payment("20 digits", i3, payment(i3, "99999999999999999999"), {422});
  bad_payment("1e400", i3, payment(i3, "1e400"), {422});
  bad_payment("missing amount", i3, "{\"correlationId\":\"" + i3 + "\"}", {422});
  bad_payment("missing correlationId", "", "{\"amount\":19.90}", {422});
  bad_payment("empty object", "", "{}", {422});
  bad_payment("amount given twice", i3,
              "{\"correlationId\":\"" + i3 + "\",\"amount\":1.00,\"amount\":2.00}", {422});
  bad_payment("correlationId given twice", i3,
              "{\"correlationId\":\"" + i3 + "\",\"correlationId\":\"" + i3 + "\",\"amount\":1.00}",
              {422});
  bad_payment("correlationId not a UUID", "", payment("abc", "19.90"), {422});
  bad_payment("correlationId a number", "", "{\"correlationId\":42,\"amount\":19.90}", {422});
  std::string i4 = id();
  std::string nodash = i4;
  nodash.erase(std::remove(nodash.begin(), nodash.end(), '-'), nodash.end());
  bad_payment("UUID without dashes", i4, payment(nodash, "19.90"), {422});
  bad_payment("UUID in braces", i4, payment("{" + i4 + "}", "19.90"), {422});
  bad_payment("UUID with a non-hex digit", "", payment("g" + i4.substr(1), "19.90"), {422});
  bad_payment("UUID too long", i4, payment(i4 + "0", "19.90"), {422});
  // 415: wrong Content-Type.
  std::string i5 = id();
  cases.push_back({"text/plain",
                   http_request("POST", pay, payment(i5, "19.90"), "text/plain"),
                   {415},
                   true,
                   i5});
  cases.push_back(
      {"form-urlencoded",
       http_request("POST", pay, payment(i5, "19.90"), "application/x-www-form-urlencoded"),
       {415},
       true,
       i5});
  // 413: over 1024 bytes, refused by HAProxy before any api sees it.
  std::string i6 = id();
  std::string big = "{\"correlationId\":\"" + i6 + "\",\"amount\":19.90,\"pad\":\"" +
                    std::string(2000, 'x') + "\"}";
  cases.push_back({"body of 2 KB", http_request("POST", pay, big), {413}, true, i6});
  std::string chunked =
      "POST /payments HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
      "application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) chunked += "200\r\n" + std::string(512, ' ') + "\r\n";
  chunked += "0\r\n\r\n";
  cases.push_back({"chunked body of 2 KB", chunked, {413}, true, ""});
  // Wrong method or path.
  for (const auto& [m, p] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/payments"},
                                                        {"PUT", "/payments"},
                                                        {"DELETE", "/payments"},
                                                        {"POST", "/payments-summary"},
                                                        {"DELETE", "/payments-summary"},
                                                        {"GET", "/purge-payments"},
                                                        {"GET", "/nope"},
                                                        {"GET", "/payments/" + i1},
                                                        {"POST", "/payments/" + i1},
                                                        {"POST", "/admin/purge-payments"}}) {
    cases.push_back({m + " " + p,
                     http_request(m, p, m == "GET" || m == "DELETE" ? "" : payment(i1, "1.00")),
                     {404, 405},
                     true,
                     i1});
  }
  // Bad dates in the summary query.
  for (const std::string q :
       {"from=yesterday", "from=2025-13-01T00:00:00.000Z", "to=2025-07-10T25:00:00.000Z",
        "from=2025-07-10T12:00:00.000Z&to=2025-02-30T00:00:00.000Z", "from=%ZZ",
        "from=", "to=2025-07-10T12:00:00.000+25:00", "from=2025-07-10T12:60:00Z"}) {
    cases.push_back(
        {"summary " + q, http_request("GET", "/payments-summary?" + q), {400}, true, ""});
  }

  // Record what the stack holds before any bad input.
  auto before = read_ledgers(ep);
  REQUIRE(before.is_ok());
  REQUIRE(before->processor_requests() == 0);

  RawConn conn(st.lb_port());
  std::ostringstream table;
  int reconnects = 0;
  for (const auto& c : cases) {
    bool reconnected = false;
    RawResponse r = conn.exchange(c.request, &reconnected);
    reconnects += reconnected;
    table << "  " << r.status << "  " << c.name << (reconnected ? " (new connection)" : "") << "  "
          << r.body.substr(0, 80) << "\n";
    INFO(c.name << ": " << r.status << " " << r.headers << "\n" << r.body);
    CHECK(c.statuses.count(r.status) == 1);
    if (c.json_error) CHECK(is_json_error(r.body));
    if (r.status == 405) CHECK(r.headers.find("\nallow: ") != std::string::npos);
    if (!c.id.empty()) rejected.push_back({c.id, 1990, r.status});
    // The same connection then carries a good request and gets its own answer.
    RawResponse next = conn.exchange(http_request("GET", "/payments-summary"), &reconnected);
    reconnects += reconnected;
    CHECK(next.status == 200);
    CHECK(nlohmann::json::parse(next.body, nullptr, false).contains("default"));
  }
  std::printf("bad input (status, case, body):\n%s", table.str().c_str());
  std::printf("bad input: %zu cases, %d reconnects\n", cases.size(), reconnects);

  {
    // After an oversized body, a valid payment on the same connection is answered and recorded.
    std::string smuggled_id = id();
    std::string smuggled = http_request("POST", pay, payment(smuggled_id, "7.77"));
    std::string body = "{\"pad\":\"" + std::string(1100, 'y') + "\"}" + smuggled;
    conn.connect_now();
    RawResponse r413 = conn.exchange(http_request("POST", pay, body));
    CHECK(r413.status == 413);
    CHECK(is_json_error(r413.body));
    rejected.push_back({smuggled_id, 777, r413.status});
    SentPayment after{id(), 1234, 0};
    bool reconnected = false;
    RawResponse ok =
        conn.exchange(http_request("POST", pay, payment(after.id, "12.34")), &reconnected);
    after.status = ok.status;
    std::printf("bad input: after a 413 the next request %s the connection: %d\n",
                reconnected ? "needed a new" : "kept", ok.status);
    CHECK(ok.status / 100 == 2);
    valid.push_back(after);
    // Nothing else is pending on the connection (no answer to a smuggled request).
    CHECK_FALSE(conn.read_response(300ms).has_value());
  }

  {
    // Duplicate correlationId: both answered 2xx, charged once.
    SentPayment dup{id(), 4242, 0};
    RawConn c2(st.lb_port());
    RawResponse a = c2.exchange(http_request("POST", pay, payment(dup.id, "42.42")));
    RawResponse b = c2.exchange(http_request("POST", pay, payment(dup.id, "42.42")));
    RawConn c3(st.lb_port());
    RawResponse c = c3.exchange(http_request("POST", pay, payment(dup.id, "42.42")));
    CHECK(a.status / 100 == 2);
    CHECK(b.status / 100 == 2);
    CHECK(c.status / 100 == 2);
    dup.status = a.status;
    valid.push_back(dup);
  }

  {
    // A slow client: headers and body trickled a few bytes at a time, 2 s in all (HAProxy's
    // timeout http-request is 5 s); the answer is the normal one.
    SentPayment slow{id(), 501, 0};
    RawConn c4(st.lb_port());
    const std::string req = http_request("POST", pay, payment(slow.id, "5.01"));
    const auto gap = std::chrono::microseconds(2'000'000 / (req.size() / 4 + 1));
    for (size_t i = 0; i < req.size(); i += 4) {
      REQUIRE(c4.write_all(req.substr(i, 4)));
      std::this_thread::sleep_for(gap);
    }
    auto r = c4.read_response();
    REQUIRE(r.has_value());
    CHECK(r->status / 100 == 2);
    slow.status = r->status;
    valid.push_back(slow);
    // One that stops mid-headers is cut off by HAProxy (408) and nothing reaches an api; so is
    // one whose body stops short of its Content-Length (both wait out the same 5 s).
    RawConn c5(st.lb_port());
    std::string stalled_id = id();
    REQUIRE(c5.write_all("POST /payments HTTP/1.1\r\nHost: localhost\r\nContent-Le"));
    RawConn c6(st.lb_port());
    const std::string partial = http_request("POST", pay, payment(stalled_id, "3.33"));
    REQUIRE(c6.write_all(partial.substr(0, partial.size() - 10)));
    auto cut = c5.read_response(8000ms);
    auto cut2 = c6.read_response(3000ms);
    std::printf("bad input: headers stalled -> %d, body stalled -> %d\n", cut ? cut->status : 0,
                cut2 ? cut2->status : 0);
    REQUIRE(cut.has_value());
    CHECK(cut->status == 408);
    REQUIRE(cut2.has_value());
    CHECK(cut2->status == 408);
    rejected.push_back({stalled_id, 333, cut2 ? cut2->status : 0});
  }

  {
    // Not HTTP at all: HAProxy answers 400 itself and closes.
    RawConn c7(st.lb_port());
    REQUIRE(c7.write_all("GARBAGE\r\n\r\n"));
    auto r = c7.read_response();
    REQUIRE(r.has_value());
    CHECK(r->status == 400);
  }

  // Nothing rejected reached a processor; the valid ones did, once each; ours agrees.
  auto settled = wait_settled(ep, static_cast<int64_t>(valid.size()), 15s);
  REQUIRE(settled.is_ok());
  INFO(*settled);
  CHECK(settled->processor_requests() == static_cast<int64_t>(valid.size()));
  auto good = audit_payments(valid, ep);
  REQUIRE(good.is_ok());
  INFO(*good);
  check_books(*good, *settled, static_cast<int64_t>(valid.size()));
  auto bad = audit_payments(rejected, ep);
  REQUIRE(bad.is_ok());
  INFO(*bad);
  CHECK(bad->recorded + bad->unanswered_recorded + bad->double_charged == 0);
  Status alive = st.check_alive();
  INFO(alive.message());
  CHECK(alive.is_ok());
}

TEST_CASE("the public port: only the contract's routes reach an api - metrics stay internal") {
  stack::StackOptions o = test_options(Parts::whole());
  const std::string token = "purge-token-for-the-test";
  o.api_args = {"--api.purge_token=" + token};
  StackFixture f(o);
  stack::Stack& st = f.stack();
  const Endpoints ep{st.lb_url(), st.default_url(), st.fallback_url()};
  uint64_t seed = 0x9999;
  const std::string id = random_uuid(seed);
  RawConn conn(st.lb_port());
  REQUIRE(conn.exchange(http_request("POST", "/payments", payment(id, "19.90"))).status == 202);

  // Every path outside the contract, in the spellings a client could try, gets HAProxy's 404
  // JSON and no byte of an api's answer (no metric name, no health answer).
  std::ostringstream table;
  for (const auto& [m, p] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/metrics"},
           {"POST", "/metrics"},
           {"GET", "/metrics?name=rinha_api_payments_total"},
           {"GET", "/metrics/"},
           {"GET", "/METRICS"},
           {"GET", "//metrics"},
           {"GET", "/%6detrics"},
           {"GET", "/payments-summary/../metrics"},
           {"GET", "/./metrics"},
           {"GET", "http://localhost/metrics"},
           {"GET", "/healthcheck"},
           {"GET", "/"},
           {"GET", "/nope"},
           {"GET", "/payments/" + id},
           {"GET", "/admin/payments-summary"},
           {"POST", "/admin/purge-payments"},
           {"GET", "/payments-summary/"},
           {"POST", "/payments/"},
       }) {
    RawResponse r = conn.exchange(http_request(m, p, m == "POST" ? payment(id, "1.00") : ""));
    table << "  " << r.status << "  " << m << " " << p << "\n";
    INFO(m << " " << p << ": " << r.status << " " << r.headers << "\n" << r.body);
    CHECK(r.status == 404);
    CHECK(is_json_error(r.body));
    CHECK(r.body.find("rinha_") == std::string::npos);
  }
  std::printf("public port, non-contract paths (status, request):\n%s", table.str().c_str());

  // The apis still serve both on their own listeners (what a Prometheus inside the compose
  // network scrapes, and what HAProxy health-checks).
  for (int i = 0; i < 2; ++i) {
    http::HttpRequest req;
    req.url = st.api_url(i) + "/metrics";
    auto r = http::http_send(req);
    REQUIRE(r.is_ok());
    CHECK(r->status == 200);
    CHECK_THAT(r->body, Catch::Contains("rinha_api_payments_total"));
    req.url = st.api_url(i) + "/healthcheck";
    CHECK(http::http_send(req)->status == 204);
  }

  // POST /purge-payments with api.purge_token set: refused without the token, then done with it.
  auto settled = wait_settled(ep, 1, 15s);
  REQUIRE(settled.is_ok());
  RawResponse no_token = conn.exchange(http_request("POST", "/purge-payments"));
  CHECK(no_token.status == 401);
  CHECK(is_json_error(no_token.body));
  RawResponse wrong = conn.exchange(
      http_request("POST", "/purge-payments", "", "application/json", "X-Rinha-Token: 123\r\n"));
  CHECK(wrong.status == 401);
  auto still = read_ledgers(ep);
  REQUIRE(still.is_ok());
  CHECK(still->ours_default.requests + still->ours_fallback.requests == 1);
  RawResponse with = conn.exchange(http_request("POST", "/purge-payments", "", "application/json",
                                                "X-Rinha-Token: " + token + "\r\n"));
  CHECK(with.status == 200);
  RawResponse summary = conn.exchange(http_request("GET", "/payments-summary"));
  REQUIRE(summary.status == 200);
  auto j = nlohmann::json::parse(summary.body);
  CHECK(j["default"]["totalRequests"] == 0);
  CHECK(j["fallback"]["totalRequests"] == 0);
}
