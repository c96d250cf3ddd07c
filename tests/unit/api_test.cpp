// The api: request validation table, summary query parsing, and the HTTP endpoints end to end
// (ApiServer on a free port, a fake worker behind a real hand-off socket, libcurl as client).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "api/fan_out.hpp"
#include "api/request_parser.hpp"
#include "api/server.hpp"
#include "fake_sink.hpp"
#include "instrument/http/http_client.hpp"

using namespace rinha;
using namespace rinha::api;

static const char* kId = "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3";

TEST_CASE("good payment bodies parse to id and cents") {
  struct Row {
    std::string body;
    int64_t cents;
  };
  for (
      const auto& [body, cents] : std::vector<Row>{
          {R"({"correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3","amount":19.90})", 1990},
          {R"({"amount":20.05,"correlationId":"4A7901B8-7D26-4D9D-AA19-4DC1C7CF60B3"})", 2005},
          {R"( { "correlationId" : "4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3" , "amount" : 1 } )", 100},
          {R"({"correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3","amount":19.900,"note":"x"})",
           1990},
          {R"({"correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3","amount":1990e-2})", 1990},
      }) {
    INFO(body);
    auto r = parse_payment(body);
    REQUIRE(r.is_ok());
    CHECK(r->amount.value == cents);
    CHECK(format_uuid(r->id) == kId);
  }
}

TEST_CASE("bad payment bodies are rejected with a message naming the problem") {
  struct Row {
    std::string body;
    std::string says;
  };
  const std::string id = std::string("\"correlationId\":\"") + kId + "\"";
  for (const auto& [body, says] : std::vector<Row>{
           {"", "JSON"},
           {"{", "JSON"},
           {"[]", "one JSON object"},
           {"\"x\"", "object"},
           {"{" + id + "}", "amount is required"},
           {R"({"amount":19.90})", "correlationId is required"},
           {"{" + id + ",\"amount\":\"19.90\"}", "amount must be a number"},
           {"{" + id + ",\"amount\":null}", "amount must be a number"},
           {"{" + id + ",\"amount\":-1}", "greater than 0"},
           {"{" + id + ",\"amount\":0}", "greater than 0"},
           {"{" + id + ",\"amount\":19.901}", "2 decimal"},
           {"{" + id + ",\"amount\":1e300}", "too large"},
           {"{" + id + ",\"amount\":NaN}", "JSON"},
           {"{" + id + ",\"amount\":Infinity}", "JSON"},
           {R"({"correlationId":42,"amount":1})", "correlationId must be a string"},
           {R"({"correlationId":"not-a-uuid","amount":1})", "UUID"},
           {"{" + id + "," + id + ",\"amount\":1}", "twice"},
           {"{" + id + ",\"amount\":1,\"amount\":2}", "twice"},
           {"{" + id + ",\"amount\":1} x", "one JSON object"},
           {"{" + id + ",\"amount\":1}{}", "one JSON object"},
       }) {
    INFO(body);
    auto r = parse_payment(body);
    REQUIRE_FALSE(r.is_ok());
    CHECK_THAT(r.status().message(), Catch::Contains(says));
  }
}

TEST_CASE("summary query: optional bounds and 400-worthy dates") {
  CHECK(parse_summary_query(std::nullopt, std::nullopt)->is_all());
  auto w = parse_summary_query(std::string("2025-07-10T12:34:56.000Z"),
                               std::string("2025-07-10T12:35:56.000Z"));
  REQUIRE(w.is_ok());
  CHECK(w->from_ms == 1752150896000LL);
  CHECK(w->to_ms == 1752150956000LL);
  auto enc = parse_summary_query(std::string("2025-07-10T12%3A34%3A56.000Z"),
                                 std::string("2025-07-10T12:35:56Z"));
  REQUIRE(enc.is_ok());
  CHECK(enc->from_ms == 1752150896000LL);
  auto bad = parse_summary_query(std::string("yesterday"), std::nullopt);
  REQUIRE_FALSE(bad.is_ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("from"));
  CHECK_FALSE(parse_summary_query(std::nullopt, std::string("2025-07-10T12%3")).is_ok());
}

TEST_CASE("error bodies are JSON with escaped text") {
  CHECK(error_json("bad \"x\"\n") == R"({"error":"bad \"x\"\n"})");
}

namespace {

struct ApiFixture {
  testing::FakeSink sink;
  std::string worker = "unix:/tmp/rinha-api-test-" + std::to_string(::getpid()) + ".sock";
  handoff::Server worker_server{worker, sink};
  SystemClock clock;
  ApiConfig cfg;
  std::unique_ptr<ApiServer> api;

  explicit ApiFixture(std::string purge_token = "") {
    REQUIRE(worker_server.start().is_ok());
    cfg.api.purge_token = std::move(purge_token);
    cfg.api.listen = "127.0.0.1:0";
    cfg.worker_listen = worker;
    cfg.api.max_request_bytes = 2048;
    cfg.api.journal_path = "/tmp/rinha-api-test-" + std::to_string(::getpid()) + ".journal";
    ::unlink(cfg.api.journal_path.c_str());
    api = std::make_unique<ApiServer>(cfg, clock);
    REQUIRE(api->start().is_ok());
  }
  ~ApiFixture() {
    api.reset();
    ::unlink(cfg.api.journal_path.c_str());
  }
  // Hand-off is asynchronous: wait (bounded) until the fake worker holds n payments.
  bool worker_holds(size_t n) {
    for (int i = 0; i < 200 && sink.size() != n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return sink.size() == n;
  }
  std::string url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(api->port()) + path;
  }
  http::HttpResponse call(std::string method, const std::string& path, std::string body = {},
                          std::vector<std::pair<std::string, std::string>> headers = {
                              {"Content-Type", "application/json"}}) {
    http::HttpRequest req;
    req.method = std::move(method);
    req.url = url(path);
    req.body = std::move(body);
    req.headers = std::move(headers);
    // A fresh connection per call: a rejected request must not depend on the previous one.
    auto r = http::http_send(req);
    REQUIRE(r.is_ok());
    return *r;
  }
};

std::string body(const std::string& id, const std::string& amount) {
  return "{\"correlationId\":\"" + id + "\",\"amount\":" + amount + "}";
}

}  // namespace

TEST_CASE("HTTP: payments are accepted once, bad ones get 4xx JSON and change nothing") {
  ApiFixture f;
  auto ok = f.call("POST", "/payments", body(kId, "19.90"));
  CHECK(ok.status == 202);
  CHECK(ok.header("connection").empty());  // keep-alive by HTTP/1.1 default, see server.cpp
  CHECK(f.call("POST", "/payments", body(kId, "19.90")).status == 202);  // duplicate: accepted
  CHECK(f.worker_holds(1));                                              // ... but held once

  struct Row {
    std::string body;
    long status;
  };
  for (const auto& [b, status] :
       std::vector<Row>{{"{", 400},
                        {body(kId, "19.901"), 422},
                        {body("nope", "1"), 422},
                        {body("5a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3", "-3"), 422},
                        {std::string(4000, ' '), 413}}) {
    INFO(b.substr(0, 60));
    auto r = f.call("POST", "/payments", b);
    CHECK(r.status == status);
    if (status != 413) CHECK_THAT(r.body, Catch::StartsWith("{\"error\":\""));
  }
  auto ct = f.call("POST", "/payments", body("6a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3", "1"),
                   {{"Content-Type", "text/plain"}});
  CHECK(ct.status == 415);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(f.sink.size() == 1);
  auto wrong = f.call("GET", "/payments");
  CHECK(wrong.status == 405);
  CHECK_THAT(wrong.body, Catch::StartsWith("{\"error\":\""));
  CHECK(f.call("DELETE", "/payments-summary").status == 405);
  CHECK(f.call("GET", "/nowhere").status == 404);
}

TEST_CASE("HTTP: summary, purge, healthcheck and metrics") {
  ApiFixture f;
  REQUIRE(f.call("POST", "/payments", body(kId, "19.90")).status == 202);
  REQUIRE(f.worker_holds(1));
  auto all = f.call("GET", "/payments-summary");
  CHECK(all.status == 200);
  CHECK(
      all.body ==
      R"({"default":{"totalRequests":1,"totalAmount":19.90},"fallback":{"totalRequests":0,"totalAmount":0.00}})");
  auto past =
      f.call("GET", "/payments-summary?from=2000-01-01T00:00:00.000Z&to=2000-01-02T00:00:00.000Z");
  CHECK(past.status == 200);
  CHECK_THAT(past.body, Catch::Contains("\"totalRequests\":0"));
  auto bad =
      f.call("GET", "/payments-summary?from=2000-13-01T00:00:00.000Z&to=2000-01-02T00:00:00.000Z");
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body, Catch::Contains("from"));
  CHECK(f.call("POST", "/purge-payments").status == 200);
  CHECK(f.sink.size() == 0);
  CHECK(f.call("GET", "/healthcheck").status == 204);
  auto m = f.call("GET", "/metrics");
  CHECK(m.status == 200);
  CHECK_THAT(m.body, Catch::Contains("rinha_api_payments_total{outcome=\"accepted\"} 1"));
}

TEST_CASE("HTTP: with api.purge_token set, purge needs the X-Rinha-Token header") {
  ApiFixture f("s3cret-token");
  REQUIRE(f.call("POST", "/payments", body(kId, "19.90")).status == 202);
  REQUIRE(f.worker_holds(1));
  for (const auto& given : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {},
           {{"X-Rinha-Token", ""}},
           {{"X-Rinha-Token", "s3cret-toke"}},
           {{"X-Rinha-Token", "s3cret-token2"}},
           {{"X-Rinha-Token", "S3CRET-TOKEN"}},
           {{"Authorization", "s3cret-token"}}}) {
    auto r = f.call("POST", "/purge-payments", "", given);
    INFO((given.empty() ? "no header" : given[0].first + ": " + given[0].second));
    CHECK(r.status == 401);
    CHECK_THAT(r.body, Catch::Contains("\"error\""));
    CHECK(f.sink.size() == 1);  // nothing purged
  }
  CHECK(f.call("POST", "/purge-payments", "", {{"X-Rinha-Token", "s3cret-token"}}).status == 200);
  CHECK(f.sink.size() == 0);
  // Only the authorised purge is counted.
  CHECK_THAT(f.call("GET", "/metrics").body, Catch::Contains("rinha_api_purges_total 1"));
}

TEST_CASE("HTTP: a 202 survives a refusing worker and a restart of the api") {
  ApiFixture f;
  f.sink.set_refuse(true);
  REQUIRE(f.call("POST", "/payments", body(kId, "19.90")).status == 202);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(f.sink.size() == 0);
  // The api goes away before the worker took it: its journal keeps it for the next start.
  f.api.reset();
  f.sink.set_refuse(false);
  f.api = std::make_unique<ApiServer>(f.cfg, f.clock);
  REQUIRE(f.api->start().is_ok());
  CHECK(f.worker_holds(1));
  // Once acked it is settled in the journal: a third start hands nothing off again.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  f.api.reset();
  f.sink.set_refuse(true);
  f.api = std::make_unique<ApiServer>(f.cfg, f.clock);
  REQUIRE(f.api->start().is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(f.sink.batches() > 0);
  int batches = f.sink.batches();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(f.sink.batches() == batches);  // nothing pending, so nothing is being retried
}

TEST_CASE("HTTP: with durability none a 202 is still handed off once the worker takes it") {
  ApiFixture f;
  f.api.reset();
  f.cfg.handoff.durability = Durability::kNone;
  f.sink.set_refuse(true);
  f.api = std::make_unique<ApiServer>(f.cfg, f.clock);
  REQUIRE(f.api->start().is_ok());
  REQUIRE(f.call("POST", "/payments", body(kId, "19.90")).status == 202);
  f.sink.set_refuse(false);
  CHECK(f.worker_holds(1));
}

TEST_CASE("malformed bodies and rule-breaking fields are told apart (400 vs 422)") {
  CHECK(parse_payment("{").status().code() == Status::Code::kMalformed);
  CHECK(parse_payment("[1]").status().code() == Status::Code::kMalformed);
  CHECK(parse_payment(R"({"correlationId":"x","amount":1})").status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(parse_payment(R"({"amount":1})").status().code() == Status::Code::kInvalidArgument);
  std::string id = R"("correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3")";
  CHECK(parse_payment("{" + id + ",\"amount\":-Infinity}").status().code() ==
        Status::Code::kMalformed);
  CHECK(parse_payment("{" + id + ",\"amount\":-1}").status().code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE(
    "cluster fan-out: the summary is every worker's part summed, answered once, after the last") {
  std::vector<Result<summary::SummaryTotals>> answers;
  auto parts = summary_fan_out(3, [&](Result<summary::SummaryTotals> r) { answers.push_back(r); });
  REQUIRE(parts.size() == 3);
  summary::SummaryTotals a, b, c;
  a.default_totals = {2, Cents{1990}};
  b.default_totals = {1, Cents{10}};
  b.fallback_totals = {3, Cents{300}};
  c.fallback_totals = {1, Cents{1}};
  parts[2]->done(c);
  parts[0]->done(a);
  CHECK(answers.empty());  // a part is still out
  parts[1]->done(b);
  REQUIRE(answers.size() == 1);
  REQUIRE(answers[0].is_ok());
  CHECK(answers[0]->default_totals == summary::ProcessorTotals{3, Cents{2000}});
  CHECK(answers[0]->fallback_totals == summary::ProcessorTotals{4, Cents{301}});
}

TEST_CASE("cluster fan-out: one part failing fails the summary, never a partial sum") {
  std::vector<Result<summary::SummaryTotals>> answers;
  auto parts = summary_fan_out(3, [&](Result<summary::SummaryTotals> r) { answers.push_back(r); });
  summary::SummaryTotals a;
  a.default_totals = {5, Cents{500}};
  parts[0]->done(a);
  parts[2]->done(Status::timeout("no reply within 1000 ms"));
  parts[1]->done(a);
  REQUIRE(answers.size() == 1);
  REQUIRE_FALSE(answers[0].is_ok());
  CHECK_THAT(answers[0].status().message(), Catch::Contains("peer worker 2"));
  CHECK_THAT(answers[0].status().message(), Catch::Contains("no reply within 1000 ms"));
}

TEST_CASE("cluster fan-out: a purge is done once every worker purged") {
  std::vector<Status> answers;
  auto parts = purge_fan_out(2, [&](Status s) { answers.push_back(s); });
  parts[1]->done(Status::ok());
  CHECK(answers.empty());
  parts[0]->done(Status::unavailable("worker connection lost"));
  REQUIRE(answers.size() == 1);
  CHECK_FALSE(answers[0].is_ok());
  CHECK_THAT(answers[0].message(), Catch::Contains("this node's worker"));

  answers.clear();
  auto ok = purge_fan_out(2, [&](Status s) { answers.push_back(s); });
  ok[0]->done(Status::ok());
  ok[1]->done(Status::ok());
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].is_ok());
}
