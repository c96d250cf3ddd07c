// Processor JSON and the libcurl multi client against a tiny in-test HTTP/1.1 server (outcome
// mapping, timeouts, resets, refused connects, keep-alive, many requests in flight).
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "processor/client.hpp"
#include "processor/processor_format.hpp"
#include "support/tiny_http_server.hpp"

using namespace rinha;
using namespace rinha::processor;
using rinha::testing::Action;
using rinha::testing::SeenRequest;
using rinha::testing::TinyServer;

namespace {

Uuid id_of(int n) {
  Uuid u;
  u.bytes[15] = static_cast<uint8_t>(n);
  u.bytes[14] = static_cast<uint8_t>(n >> 8);
  return u;
}

std::array<EndpointConfig, 2> endpoints(const std::string& url, int timeout_ms = 2000,
                                        int cap = 400) {
  EndpointConfig e{url, timeout_ms, 500, cap};
  return {e, e};
}

// Runs the client until n callbacks fired (or 10 s).
void run_until(Client& c, const std::atomic<int>& done, int n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (done.load() < n && std::chrono::steady_clock::now() < deadline) c.run_once(20);
}

}  // namespace

TEST_CASE("payment JSON carries exact cents and millisecond UTC requestedAt") {
  auto id = parse_uuid("4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3");
  REQUIRE(id.is_ok());
  PaymentRequest p{*id, Cents{1990}, UtcMillis{1752150896123}};
  CHECK(payment_json(p) ==
        "{\"correlationId\":\"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3\",\"amount\":19.90,"
        "\"requestedAt\":\"2025-07-10T12:34:56.123Z\"}");
}

TEST_CASE("stored payment parses .NET forms: unquoted decimal - 7 fraction digits - no zone") {
  auto s = parse_stored_payment(
      R"({"correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3","amount":19.9,)"
      R"("requestedAt":"2025-07-10T12:34:56.1239999"})");
  REQUIRE(s.is_ok());
  CHECK(s->amount.value == 1990);
  CHECK(s->requested_at.value == 1752150896123);
  auto z = parse_stored_payment(R"({"requestedAt":"2025-07-10T12:34:56.000Z","amount":20.05,)"
                                R"("correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3"})");
  REQUIRE(z.is_ok());
  CHECK(z->amount.value == 2005);
  CHECK_FALSE(parse_stored_payment(R"({"amount":1})").is_ok());
  CHECK_FALSE(parse_stored_payment("nope").is_ok());
}

TEST_CASE("health answer parses - missing fields are an error") {
  auto h = parse_health(R"({"failing":true,"minResponseTime":2000})");
  REQUIRE(h.is_ok());
  CHECK(h->failing);
  CHECK(h->min_response_ms == 2000);
  CHECK_FALSE(parse_health(R"({"failing":false})").is_ok());
}

TEST_CASE("HTTP statuses map to outcomes - requests carry keep-alive and no Expect") {
  TinyServer srv([](const SeenRequest& r) {
    Action a;
    for (int code : {200, 422, 404, 429, 400, 500})
      if (r.head.find("-000000000" + std::to_string(code) + " HTTP/1.1") != std::string::npos)
        a.status = code;
    return a;
  });
  Client c(endpoints(srv.url()));
  std::vector<std::pair<int, Outcome>> cases = {
      {200, Outcome::kOk},      {422, Outcome::kDuplicate}, {404, Outcome::kNotFound},
      {429, Outcome::kTooMany}, {400, Outcome::kRejected},  {500, Outcome::kServerError}};
  std::atomic<int> done{0};
  std::vector<Outcome> got(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    auto id = parse_uuid("00000000-0000-0000-0000-000000000" + std::to_string(cases[i].first));
    REQUIRE(id.is_ok());
    c.lookup(Processor::kDefault, *id, 2000, [&, i](const Reply& r) {
      got[i] = r.outcome;
      ++done;
    });
  }
  run_until(c, done, static_cast<int>(cases.size()));
  for (size_t i = 0; i < cases.size(); ++i) CHECK(got[i] == cases[i].second);
  std::atomic<int> paid{0};
  c.pay(Processor::kFallback, PaymentRequest{id_of(1), Cents{2005}, UtcMillis{0}},
        [&](const Reply& r) {
          CHECK(r.outcome == Outcome::kOk);
          ++paid;
        });
  run_until(c, paid, 1);
  auto seen = srv.seen();
  REQUIRE(seen.size() == cases.size() + 1);
  const auto& post = seen.back();
  CHECK(post.head.rfind("POST /payments HTTP/1.1", 0) == 0);
  CHECK(post.head.find("Connection: keep-alive") != std::string::npos);
  CHECK(post.head.find("Expect") == std::string::npos);
  CHECK(post.body.find("\"amount\":20.05") != std::string::npos);
  CHECK(c.in_flight(Processor::kDefault) == 0);
  CHECK(c.in_flight(Processor::kFallback) == 0);
}

TEST_CASE("no answer in time is a timeout - a hang-up after sending is a reset - both unknown") {
  TinyServer srv([](const SeenRequest& r) {
    Action a;
    if (r.body.find("\"amount\":1.00") != std::string::npos) a.delay_ms = 800;
    if (r.body.find("\"amount\":2.00") != std::string::npos) a.hang_up = true;
    return a;
  });
  Client c(endpoints(srv.url(), 200));
  std::atomic<int> done{0};
  Outcome slow{}, hung{};
  c.pay(Processor::kDefault, PaymentRequest{id_of(1), Cents{100}, UtcMillis{0}},
        [&](const Reply& r) {
          slow = r.outcome;
          ++done;
        });
  c.pay(Processor::kDefault, PaymentRequest{id_of(2), Cents{200}, UtcMillis{0}},
        [&](const Reply& r) {
          hung = r.outcome;
          ++done;
        });
  run_until(c, done, 2);
  CHECK(slow == Outcome::kTimeout);
  CHECK(hung == Outcome::kReset);
  CHECK(is_unknown(slow));
  CHECK(is_unknown(hung));
}

TEST_CASE("a refused connection is connect_failed: the request never left") {
  Client c(endpoints("http://127.0.0.1:" + std::to_string(rinha::testing::closed_port())));
  std::atomic<int> done{0};
  Outcome o{};
  c.pay(Processor::kDefault, PaymentRequest{id_of(1), Cents{100}, UtcMillis{0}},
        [&](const Reply& r) {
          o = r.outcome;
          ++done;
        });
  run_until(c, done, 1);
  CHECK(o == Outcome::kConnectFailed);
  CHECK_FALSE(is_unknown(o));
}

TEST_CASE("hundreds of requests in flight on one thread - connections capped and reused") {
  TinyServer srv([](const SeenRequest&) {
    Action a;
    a.delay_ms = 100;
    return a;
  });
  Client c(endpoints(srv.url(), 5000, 64));
  std::atomic<int> done{0}, ok{0};
  size_t peak = 0;
  for (int i = 0; i < 300; ++i)
    c.pay(Processor::kDefault, PaymentRequest{id_of(i), Cents{100}, UtcMillis{0}},
          [&](const Reply& r) {
            if (r.outcome == Outcome::kOk) ++ok;
            ++done;
          });
  peak = c.total_in_flight();
  run_until(c, done, 300);
  CHECK(peak == 300);
  CHECK(ok.load() == 300);
  // CURLMOPT_MAX_HOST_CONNECTIONS = cap + 2; the rest waited inside curl and reused them.
  CHECK(srv.connections() <= 66);
  CHECK(srv.connections() >= 2);
  // A second round reuses the kept connections.
  const int before = srv.connections();
  done = 0;
  for (int i = 0; i < 20; ++i)
    c.pay(Processor::kDefault, PaymentRequest{id_of(1000 + i), Cents{100}, UtcMillis{0}},
          [&](const Reply&) { ++done; });
  run_until(c, done, 20);
  CHECK(srv.connections() == before);
}

TEST_CASE("wakeup() from another thread ends a run_once() in progress") {
  Client c(endpoints("http://127.0.0.1:" + std::to_string(rinha::testing::closed_port())));
  for (int round = 0; round < 3;
       ++round) {  // a wake-up after the last one was consumed still wakes
    std::thread waker([&c] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      c.wakeup();
    });
    const auto t0 = std::chrono::steady_clock::now();
    c.run_once(60000);
    const auto waited = std::chrono::steady_clock::now() - t0;
    waker.join();
    CHECK(waited < std::chrono::seconds(30));  // not the minute asked for
  }
}

TEST_CASE("a request times out on curl's timer alone, with nothing else on the wire") {
  // The server answers only after 1.5 s; nothing else happens meanwhile, so only the client's
  // timer can end each request at its 100 ms timeout.
  TinyServer srv([](const SeenRequest&) {
    Action a;
    a.delay_ms = 1500;
    return a;
  });
  Client c(endpoints(srv.url(), 100));
  for (int i = 0; i < 5; ++i) {
    std::atomic<int> done{0};
    Outcome o{};
    const auto t0 = std::chrono::steady_clock::now();
    c.pay(Processor::kDefault, PaymentRequest{id_of(i), Cents{100}, UtcMillis{0}},
          [&](const Reply& r) {
            o = r.outcome;
            ++done;
          });
    run_until(c, done, 1);
    CHECK(o == Outcome::kTimeout);
    // Before the server's answer: the timeout fired, not the answer's arrival.
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1000));
  }
}
