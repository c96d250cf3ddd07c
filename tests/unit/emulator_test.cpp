// Processor emulator: the pure rules directly (limiters, store window, body parsing) and the
// HTTP behaviour against an in-process emulator on a free loopback port, called with libcurl.
#include "instrument/emulator/emulator.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "instrument/emulator/limiters.hpp"
#include "instrument/emulator/payment_store.hpp"
#include "instrument/emulator/request_parse.hpp"
#include "instrument/http/http_client.hpp"

using namespace rinha;
using namespace rinha::emulator;
using rinha::http::HttpRequest;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

UtcMicros at(const char* iso) { return parse_iso8601(iso).value(); }
Uuid uuid(const char* s) { return parse_uuid(s).value(); }

const char* kId1 = "11111111-1111-4111-8111-111111111111";
const char* kId2 = "22222222-2222-4222-8222-222222222222";

std::string payment_body(const char* id, const char* amount = "19.90",
                         const char* when = "2025-07-10T12:00:00.000Z") {
  return std::string("{\"correlationId\":\"") + id + "\",\"amount\":" + amount +
         ",\"requestedAt\":\"" + when + "\"}";
}

// n POST /payments requests with distinct ids.
std::vector<HttpRequest> distinct_posts(const std::string& base, int n) {
  std::vector<HttpRequest> reqs;
  for (int i = 0; i < n; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "33333333-3333-4333-8333-%012d", i);
    reqs.push_back({"POST", base + "/payments", payment_body(id), {}, milliseconds(5000)});
  }
  return reqs;
}

// A running emulator and helpers to call it.
struct Running {
  explicit Running(EmulatorOptions o = {}) : emu(std::move(o)) {
    REQUIRE(emu.start().is_ok());
    base = "http://127.0.0.1:" + std::to_string(emu.port());
  }
  http::HttpResponse call(const std::string& method, const std::string& path,
                          const std::string& body = {}, const std::string& token = "123") {
    HttpRequest r;
    r.method = method;
    r.url = base + path;
    r.body = body;
    r.timeout = milliseconds(10000);
    if (!token.empty()) r.headers.emplace_back("X-Rinha-Token", token);
    auto res = http::http_send(r);
    REQUIRE(res.is_ok());
    return res.value();
  }
  Emulator emu;
  std::string base;
};

}  // namespace

TEST_CASE("concurrency limiter: permits, then FIFO queue, then reject") {
  ConcurrencyLimiter l(2, 1);
  std::vector<int> granted;
  CHECK(l.acquire([&] { granted.push_back(1); }) == Admit::kNow);
  CHECK(l.acquire([&] { granted.push_back(2); }) == Admit::kNow);
  CHECK(l.acquire([&] { granted.push_back(3); }) == Admit::kQueued);
  CHECK(l.acquire([&] { granted.push_back(4); }) == Admit::kRejected);
  Waiter next = l.release();
  REQUIRE(next);
  next();
  CHECK(granted == std::vector<int>{3});
  CHECK(l.in_use() == 2);  // the permit went to the waiter
  CHECK_FALSE(l.release());
  CHECK_FALSE(l.release());
  CHECK(l.in_use() == 0);
}

TEST_CASE("health limiter: one call per window, two wait for later windows, then reject") {
  FixedWindowLimiter h(2);
  std::vector<int> served;
  CHECK(h.acquire([&] { served.push_back(1); }) == Admit::kNow);
  CHECK(h.acquire([&] { served.push_back(2); }) == Admit::kQueued);
  CHECK(h.acquire([&] { served.push_back(3); }) == Admit::kQueued);
  CHECK(h.acquire([&] { served.push_back(4); }) == Admit::kRejected);
  h.replenish()();
  CHECK(served == std::vector<int>{2});
  CHECK(h.acquire([&] { served.push_back(5); }) == Admit::kQueued);  // queue has room again
  h.replenish()();
  h.replenish()();
  CHECK(served == std::vector<int>{2, 3, 5});
  CHECK_FALSE(h.replenish());  // empty queue: the permit is free
  CHECK(h.acquire([] {}) == Admit::kNow);
  CHECK(h.acquire([] {}) == Admit::kQueued);
}

TEST_CASE("store summary: BETWEEN is inclusive, a missing bound means all rows") {
  PaymentStore s;
  CHECK(s.insert(uuid(kId1), {Cents{1990}, at("2025-07-10T12:00:00.000Z")}));
  CHECK(s.insert(uuid(kId2), {Cents{2005}, at("2025-07-10T12:00:01.000Z")}));
  CHECK_FALSE(s.insert(uuid(kId1), {Cents{1}, at("2025-07-10T12:00:00.000Z")}));
  auto t = s.summary(at("2025-07-10T12:00:00.000Z"), at("2025-07-10T12:00:01.000Z"));
  CHECK(t.requests == 2);
  CHECK(t.amount.value == 3995);
  t = s.summary(at("2025-07-10T12:00:00.000Z"), at("2025-07-10T12:00:00.999Z"));
  CHECK(t.requests == 1);
  // Full precision: one microsecond past the row excludes it.
  t = s.summary(at("2025-07-10T12:00:00.000001Z"), at("2025-07-10T12:00:05Z"));
  CHECK(t.requests == 1);
  CHECK(s.summary(std::nullopt, at("2000-01-01T00:00:00Z")).requests == 2);
  CHECK(s.summary(at("2099-01-01T00:00:00Z"), std::nullopt).requests == 2);
  CHECK(s.summary(at("2025-07-10T12:00:01Z"), at("2025-07-10T12:00:00Z")).requests == 0);
  s.purge();
  CHECK(s.summary(std::nullopt, std::nullopt).requests == 0);
  CHECK(s.summary(at("2000-01-01T00:00:00Z"), at("2099-01-01T00:00:00Z")).requests == 0);
}

TEST_CASE("store summary: equals a scan of every row for random windows, same-instant rows too") {
  PaymentStore s;
  std::vector<StoredPayment> rows;
  uint64_t r = 12345;
  auto next = [&r] { return r = r * 6364136223846793005ULL + 1442695040888963407ULL; };
  for (int i = 0; i < 2000; ++i) {
    Uuid id;
    for (auto& b : id.bytes) b = static_cast<uint8_t>(next() >> 56);
    // 50 distinct instants, so many rows share one.
    StoredPayment p{Cents{static_cast<int64_t>(next() % 10000) + 1},
                    UtcMicros{1'750'000'000'000'000 + static_cast<int64_t>(next() % 50) * 1000}};
    if (s.insert(id, p)) rows.push_back(p);
  }
  for (int k = 0; k < 200; ++k) {
    const UtcMicros from{1'750'000'000'000'000 + static_cast<int64_t>(next() % 52000) - 1000};
    const UtcMicros to{from.value + static_cast<int64_t>(next() % 30000)};
    int64_t n = 0, cents = 0;
    for (const auto& p : rows)
      if (p.requested_at >= from && p.requested_at <= to) ++n, cents += p.amount.value;
    const auto t = s.summary(from, to);
    CHECK(t.requests == n);
    CHECK(t.amount.value == cents);
  }
}

TEST_CASE("payment body: amount rounded half-even to cents, fields required") {
  auto p = parse_payment(payment_body(kId1, "19.905"));
  REQUIRE(p.is_ok());
  CHECK(p->amount.value == 1990);
  CHECK(parse_payment(payment_body(kId1, "19.915"))->amount.value == 1992);
  CHECK(parse_payment(payment_body(kId1, "19.9051"))->amount.value == 1991);
  CHECK(parse_payment(payment_body(kId1, "1990e-2"))->amount.value == 1990);
  CHECK(p->requested_at == at("2025-07-10T12:00:00.000Z"));
  CHECK_FALSE(parse_payment("{").is_ok());
  CHECK_FALSE(parse_payment("{\"amount\":1,\"requestedAt\":\"2025-07-10T12:00:00Z\"}").is_ok());
  CHECK_FALSE(parse_payment(payment_body(kId1, "\"19.90\"")).is_ok());
  CHECK_FALSE(parse_payment(payment_body("nope")).is_ok());
  CHECK_FALSE(parse_payment(payment_body(kId1, "19.90", "yesterday")).is_ok());
}

TEST_CASE("HTTP: payments stored, duplicate 422, lookup, malformed 400") {
  Running r;
  auto res = r.call("POST", "/payments", payment_body(kId1, "19.905"));
  CHECK(res.status == 200);
  CHECK(res.header("connection").empty());  // removed so HAProxy keeps connections alive
  CHECK(r.call("POST", "/payments", payment_body(kId1)).status == 422);
  CHECK(r.call("POST", "/payments", "{not json").status == 400);
  res = r.call("GET", std::string("/payments/") + kId1);
  CHECK(res.status == 200);
  CHECK(res.body == std::string("{\"correlationId\":\"") + kId1 +
                        "\",\"amount\":19.90,\"requestedAt\":\"2025-07-10T12:00:00.000Z\"}");
  CHECK(r.call("GET", std::string("/payments/") + kId2).status == 404);
}

TEST_CASE("HTTP: delay comes before failure, and failure stores nothing") {
  Running r;
  CHECK(r.call("PUT", "/admin/configurations/delay", "{\"delay\":300}").body ==
        "{\"config\":\"delay\",\"was\":0,\"is\":300}");
  CHECK(r.call("PUT", "/admin/configurations/failure", "{\"failure\":true}").body ==
        "{\"config\":\"failure\",\"was\":false,\"is\":true}");
  auto t0 = steady_clock::now();
  auto res = r.call("POST", "/payments", payment_body(kId1));
  CHECK(res.status == 500);
  CHECK(res.body.empty());
  CHECK(steady_clock::now() - t0 >= milliseconds(300));
  CHECK(r.call("GET", std::string("/payments/") + kId1).status == 404);
  r.call("PUT", "/admin/configurations/failure", "{\"failure\":false}");
  t0 = steady_clock::now();
  CHECK(r.call("POST", "/payments", payment_body(kId1)).status == 200);  // retry after 500 is safe
  CHECK(steady_clock::now() - t0 >= milliseconds(300));
}

TEST_CASE(
    "HTTP: insert time comes after the delay - a commit pause holds the 200 of a counted payment") {
  EmulatorOptions o;
  o.insert_latency_ms = 100;
  o.insert_jitter_ms = 50;
  o.commit_pause_ms = 500;
  Running r(o);
  r.call("PUT", "/admin/configurations/delay", "{\"delay\":100}");
  const auto t0 = steady_clock::now();
  auto post = std::async(std::launch::async, [&] {
    HttpRequest q{"POST", r.base + "/payments", payment_body(kId1), {}, milliseconds(5000)};
    return http::http_send(q);
  });
  // Found by lookup (committed) while its POST has not been answered.
  bool seen = false;
  while (!seen && steady_clock::now() - t0 < milliseconds(3000)) {
    seen = r.call("GET", std::string("/payments/") + kId1).status == 200;
    if (!seen) std::this_thread::sleep_for(milliseconds(10));
  }
  const auto committed = steady_clock::now() - t0;
  REQUIRE(seen);
  CHECK(committed >= milliseconds(200));  // delay + insert
  CHECK(post.wait_for(milliseconds(0)) != std::future_status::ready);
  auto res = post.get();
  REQUIRE(res.is_ok());
  CHECK(res->status == 200);
  CHECK(steady_clock::now() - t0 >= milliseconds(700));  // + the commit pause
}

TEST_CASE("HTTP: delayed requests do not block each other (no reactor sleeps)") {
  EmulatorOptions o;
  o.threads = 1;
  Running r(o);
  r.call("PUT", "/admin/configurations/delay", "{\"delay\":400}");
  auto reqs = distinct_posts(r.base, 8);
  auto t0 = steady_clock::now();
  auto results = http::http_parallel(reqs);
  auto took = steady_clock::now() - t0;
  for (auto& res : results) CHECK(res->status == 200);
  CHECK(took < milliseconds(8 * 400));  // serial would take 3.2 s
}

TEST_CASE("HTTP: concurrency limiter answers 429 past permits + queue") {
  EmulatorOptions o;
  o.permits = 1;
  o.queue = 1;
  Running r(o);
  r.call("PUT", "/admin/configurations/delay", "{\"delay\":500}");
  auto reqs = distinct_posts(r.base, 3);
  auto results = http::http_parallel(reqs);
  int ok = 0, limited = 0;
  for (auto& res : results) {
    if (res->status == 200) ++ok;
    if (res->status == 429) ++limited;
  }
  CHECK(ok == 2);  // one with the permit, one from the queue
  CHECK(limited == 1);
}

TEST_CASE("HTTP: health reports settings - window 1 + queue 2, then 429 with Retry-After") {
  EmulatorOptions o;
  o.rate_limit_seconds = 1;
  Running r(o);
  r.call("PUT", "/admin/configurations/delay", "{\"delay\":7}");
  std::vector<HttpRequest> reqs(
      4, HttpRequest{"GET", r.base + "/payments/service-health", {}, {}, milliseconds(5000)});
  auto results = http::http_parallel(reqs);
  int ok = 0, limited = 0;
  for (auto& res : results) {
    REQUIRE(res.is_ok());
    if (res->status == 200) {
      ++ok;
      CHECK(res->body == "{\"failing\":false,\"minResponseTime\":7}");
    }
    if (res->status == 429) {
      ++limited;
      CHECK(res->header("retry-after") == "5");
    }
  }
  CHECK(ok == 3);  // the first at once, two queued ones in the next windows
  CHECK(limited == 1);
  // Every call counts, served or not: the count is what a cluster's health budget is checked by.
  CHECK(r.call("GET", "/admin/health-calls").body == "{\"received\":4,\"rejected\":1}");
  CHECK(r.call("GET", "/admin/health-calls", "", "wrong").status == 401);
}

TEST_CASE("HTTP: the insert time can be set while running (ours only)") {
  Running r;
  CHECK(r.call("PUT", "/admin/configurations/insert", "{\"latency\":300,\"jitter\":0}").body ==
        "{\"config\":\"insert\",\"was\":{\"latency\":0,\"jitter\":0},"
        "\"is\":{\"latency\":300,\"jitter\":0}}");
  const auto t0 = steady_clock::now();
  CHECK(r.call("POST", "/payments", payment_body(kId1)).status == 200);
  CHECK(steady_clock::now() - t0 >= milliseconds(300));
  CHECK(r.call("PUT", "/admin/configurations/insert", "{\"latency\":1}").status == 400);
  CHECK(r.call("PUT", "/admin/configurations/insert", "{\"latency\":1,\"jitter\":-1}").status ==
        400);
  CHECK(r.call("PUT", "/admin/configurations/insert", "{\"latency\":1,\"jitter\":1}", "x").status ==
        401);
  CHECK(r.call("PUT", "/admin/configurations/insert", "{\"latency\":0,\"jitter\":5}").body ==
        "{\"config\":\"insert\",\"was\":{\"latency\":300,\"jitter\":0},"
        "\"is\":{\"latency\":0,\"jitter\":5}}");
}

TEST_CASE("HTTP: admin token 401/204, summary, purge") {
  Running r([] {
    EmulatorOptions o;
    o.fee = "0.07";
    return o;
  }());
  CHECK(r.call("POST", "/admin/purge-payments", "", "").status == 401);
  CHECK(r.call("POST", "/admin/purge-payments", "", "wrong").status == 401);
  CHECK(r.call("PUT", "/admin/configurations/token", "{\"token\":\"abc\"}").status == 204);
  CHECK(r.call("GET", "/admin/payments-summary", "", "123").status == 401);
  r.call("POST", "/payments", payment_body(kId1, "20.05", "2025-07-10T12:00:00.000Z"));
  r.call("POST", "/payments", payment_body(kId2, "20.05", "2025-07-10T12:00:10.000Z"));
  auto res = r.call("GET",
                    "/admin/payments-summary?from=2025-07-10T12:00:00.000Z"
                    "&to=2025-07-10T12:00:09.999Z",
                    "", "abc");
  CHECK(res.status == 200);
  CHECK(
      res.body ==
      "{\"totalAmount\":20.05,\"totalRequests\":1,\"totalFee\":1.4035,\"feePerTransaction\":0.07}");
  res = r.call("GET", "/admin/payments-summary?from=2025-07-10T12:00:05.000Z", "", "abc");
  CHECK(res.body.find("\"totalRequests\":2") != std::string::npos);  // one bound: all rows
  res = r.call("POST", "/admin/purge-payments", "", "abc");
  CHECK(res.status == 200);
  CHECK(res.body == "{\"message\":\"All payments purged.\"}");
  res = r.call("GET", "/admin/payments-summary", "", "abc");
  CHECK(res.body ==
        "{\"totalAmount\":0.00,\"totalRequests\":0,\"totalFee\":0,\"feePerTransaction\":0.07}");
  CHECK(r.call("PUT", "/admin/configurations/delay", "{\"delay\":\"x\"}", "abc").status == 400);
}
