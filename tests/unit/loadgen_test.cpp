// Load generator: the official shapes as data, the ramp and percentile as k6 computes them, the
// summary bodies read exactly, and a short run against in-process emulators.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "instrument/emulator/emulator.hpp"
#include "instrument/http/http_client.hpp"
#include "instrument/loadgen/load.hpp"
#include "instrument/loadgen/payments_driver.hpp"
#include "instrument/loadgen/post_series.hpp"
#include "instrument/loadgen/profile.hpp"
#include "instrument/loadgen/response_framing.hpp"
#include "instrument/loadgen/summaries.hpp"
#include "instrument/loadgen/timeline.hpp"
#include "instrument/noop/server.hpp"
#include "net/fd.hpp"

using namespace rinha;
using namespace rinha::loadgen;

TEST_CASE("profiles carry the official timelines") {
  auto f = make_profile("final");
  REQUIRE(f);
  CHECK(f->vus == 603);
  CHECK(f->duration_ms == 300000);
  CHECK(f->amount == "20.05");
  CHECK(f->check_to_ms == 2000);
  CHECK_FALSE(f->money_from_backend);
  REQUIRE(f->stages.size() == 10);
  CHECK(f->stages[3].at_ms == 90000);
  CHECK(f->stages[3].default_delay_ms == 2000);
  CHECK(f->stages[3].default_failure);
  CHECK(f->stages[5].fallback_failure);
  CHECK(f->stages[9].default_delay_ms == 2000);
  auto p = make_profile("preview");
  REQUIRE(p);
  CHECK(p->vus == 500);
  CHECK(p->duration_ms == 60000);
  CHECK(p->amount == "19.90");
  CHECK(p->check_to_ms == 1500);
  CHECK(p->money_from_backend);
  REQUIRE(p->stages.size() == 6);
  CHECK(p->stages[3].fallback_failure);
  CHECK(p->stages[5].fallback_delay_ms == 5000);
  CHECK_FALSE(make_profile("other"));
}

TEST_CASE("a timeline file: stages carry unset fields forward, insert times per processor") {
  auto t = parse_timeline(
      "name: steps\n"
      "duration_s: 90.5\n"
      "insert:\n"
      "  fallback: {jitter_ms: 200}\n"
      "stages:\n"
      "  - at_s: 1\n"
      "    default: {delay_ms: 10}\n"
      "  - at_s: 2.25\n"
      "    default: {delay_ms: 5000}\n"
      "    fallback: {failure: true}\n"
      "  - at_s: 30\n"
      "    fallback: {delay_ms: 7, failure: false}\n");
  REQUIRE(t.is_ok());
  CHECK(t->name == "steps");
  CHECK(t->duration_ms == 90500);
  CHECK_FALSE(t->insert[0]);
  REQUIRE(t->insert[1]);
  CHECK(t->insert[1]->latency_ms == 0);
  CHECK(t->insert[1]->jitter_ms == 200);
  REQUIRE(t->stages.size() == 3);
  CHECK(t->stages[0].at_ms == 1000);
  CHECK(t->stages[0].default_delay_ms == 10);
  CHECK(t->stages[0].fallback_delay_ms == 0);
  CHECK_FALSE(t->stages[0].fallback_failure);
  CHECK(t->stages[1].at_ms == 2250);
  CHECK(t->stages[1].default_delay_ms == 5000);
  CHECK(t->stages[1].fallback_failure);
  CHECK(t->stages[2].default_delay_ms == 5000);  // kept from the stage before
  CHECK(t->stages[2].fallback_delay_ms == 7);
  CHECK_FALSE(t->stages[2].fallback_failure);

  auto final_shape = with_timeline(*make_profile("final"), *t);
  CHECK(final_shape.name == "final+steps");
  CHECK(final_shape.vus == 603);
  CHECK(final_shape.duration_ms == 90500);
  CHECK(final_shape.stages.size() == 3);
  // Without duration_s the profile's stays, and --duration scales the timeline's stages.
  auto no_duration = parse_timeline("stages:\n  - at_s: 30\n    default: {delay_ms: 1}\n");
  REQUIRE(no_duration.is_ok());
  CHECK(no_duration->name == "custom");
  auto p = with_duration(with_timeline(*make_profile("preview"), *no_duration), 6000);
  CHECK(p.stages[0].at_ms == 3000);
}

TEST_CASE("a bad timeline file is refused naming the line and the field") {
  struct Row {
    std::string text;
    std::string where;  // "<source>:<line>: <field>"
  };
  for (const auto& [text, where] : std::vector<Row>{
           {"stages: []\n", "t.yaml:1: stages"},
           {"name: x\n", "t.yaml:1: stages"},
           {"stages:\n  - at_s: 1\n    default: {delay_ms: -5}\n",
            "t.yaml:3: stages[0].default.delay_ms"},
           {"stages:\n  - at_s: 1\n    default: {delay_ms: fast}\n",
            "t.yaml:3: stages[0].default.delay_ms"},
           {"stages:\n  - at_s: 1\n    default: {failure: maybe}\n",
            "t.yaml:3: stages[0].default.failure"},
           {"stages:\n  - at_s: 1\n    default: {dely_ms: 5}\n",
            "t.yaml:3: stages[0].default.dely_ms"},
           {"stages:\n  - at_s: 5\n  - at_s: 5\n", "t.yaml:3: stages[1].at_s"},
           {"stages:\n  - at_s: 1\n  - default: {delay_ms: 5}\n", "t.yaml:3: stages[1].at_s"},
           {"stages:\n  - at_s: soon\n", "t.yaml:2: stages[0].at_s"},
           {"duration_s: 10\nstages:\n  - at_s: 12\n", "t.yaml:3: stages[0].at_s"},
           {"duration_s: 0\nstages:\n  - at_s: 0\n", "t.yaml:1: duration_s"},
           {"insert:\n  default: {jitter_ms: 1.5}\nstages:\n  - at_s: 1\n",
            "t.yaml:2: insert.default.jitter_ms"},
           {"insert:\n  primary: {jitter_ms: 1}\nstages:\n  - at_s: 1\n",
            "t.yaml:2: insert.primary"},
           {"stage:\n  - at_s: 1\n", "t.yaml:1: stage"},
           {"stages:\n  - at_s: 1\n    default: [1]\n", "t.yaml:3: stages[0].default"},
           {"stages:\n  - {at_s: 1\n", "t.yaml:3: YAML syntax"},
       }) {
    INFO(text);
    auto t = parse_timeline(text, "t.yaml");
    REQUIRE_FALSE(t.is_ok());
    CHECK_THAT(t.status().message(), Catch::StartsWith(where));
  }
  CHECK_FALSE(load_timeline_file("/nonexistent/timeline.yaml").is_ok());
}

TEST_CASE("the example timelines in bench/timelines parse") {
  auto t = load_timeline_file(std::string(RINHA_SOURCE_DIR) + "/bench/timelines/large-steps.yaml");
  REQUIRE(t.is_ok());
  CHECK(t->stages.size() >= 5);
  REQUIRE(t->insert[0]);
  CHECK(t->insert[0]->jitter_ms == 200);
  int64_t largest_step = 0;
  for (size_t i = 1; i < t->stages.size(); ++i)
    largest_step =
        std::max(largest_step, t->stages[i].default_delay_ms - t->stages[i - 1].default_delay_ms);
  CHECK(largest_step >= 5000);
}

TEST_CASE("the soak shape: constant VUs from the start, processors set once") {
  auto s = make_profile("soak");
  REQUIRE(s);
  CHECK(s->vus == 600);
  CHECK_FALSE(s->ramp);
  CHECK(s->duration_ms == 3600000);
  REQUIRE(s->stages.size() == 1);
  CHECK_FALSE(s->stages[0].default_failure);
  CHECK(make_profile("final")->ramp);
}

TEST_CASE("without the ramp every VU sends from the first second") {
  emulator::Emulator backend(emulator::EmulatorOptions{});  // answers 400: counted as failed
  REQUIRE(backend.start().is_ok());
  auto sent = [&](bool ramp) {
    PaymentsOptions po;
    po.url = "http://127.0.0.1:" + std::to_string(backend.port()) + "/payments";
    po.amount_json = "20.05";
    po.vus = 20;
    po.ramp = ramp;
    po.duration_ms = 1500;
    LatencyRecorder latency;
    PaymentsCounters counters;
    std::atomic<bool> stop{false};
    run_payments(po, std::chrono::steady_clock::now(), latency, counters, stop);
    return counters.sent.load();
  };
  // Constant: each VU at 0 s and again 1 s later (think time), before the 1.5 s end.
  CHECK(sent(false) == 40);
  // Ramped: VUs starting after 0.5 s have no time for a second request.
  CHECK(sent(true) < 35);
}

TEST_CASE("a shorter duration scales the timeline proportionally") {
  auto p = with_duration(*make_profile("final"), 60000);
  CHECK(p.duration_ms == 60000);
  CHECK(p.stages[0].at_ms == 200);
  CHECK(p.stages[1].at_ms == 6000);
  CHECK(p.stages[9].at_ms == 54000);
  CHECK(p.check_from_ms == 15000);  // check windows stay as scripted
}

TEST_CASE("ramping VUs: VU v starts at duration x (v-1)/(N-1)") {
  CHECK(vu_start_ms(0, 500, 60000) == 0);
  CHECK(vu_start_ms(1, 500, 60000) == 120);
  CHECK(vu_start_ms(499, 500, 60000) == 60000);
  CHECK(vu_start_ms(3, 1, 60000) == 0);
  // Expected POSTs at 1/s per VU: about the integral of the ramp, 300 x (1+603)/2 = 90600.
  double total = 0;
  for (int i = 0; i < 603; ++i) total += (300000 - vu_start_ms(i, 603, 300000)) / 1000.0;
  CHECK(total == Approx(90600).epsilon(0.01));
}

TEST_CASE("percentile interpolates linearly at p x (n-1), as k6 does") {
  std::vector<double> v{1, 2, 3, 4};
  CHECK(percentile(v, 0.5) == Approx(2.5));
  CHECK(percentile(v, 0.99) == Approx(3.97));
  CHECK(percentile(v, 1.0) == 4);
  CHECK(percentile({7}, 0.99) == 7);
  CHECK(percentile({}, 0.99) == 0);
}

TEST_CASE("summary bodies keep exact decimals") {
  auto p = parse_processor_summary(
      "{\"totalAmount\":415696.65,\"totalRequests\":20733,\"totalFee\":29098.7655,"
      "\"feePerTransaction\":0.07}");
  REQUIRE(p.is_ok());
  CHECK(p->requests == 20733);
  CHECK(p->amount.to_string() == "415696.65");
  CHECK(p->fee.to_string() == "0.07");
  auto b = parse_backend_summary(
      "{\"default\":{\"totalRequests\":3,\"totalAmount\":59.70},"
      "\"fallback\":{\"totalRequests\":0,\"totalAmount\":0}}");
  REQUIRE(b.is_ok());
  CHECK(b->default_requests == 3);
  CHECK(b->default_amount.to_string() == "59.7");
  CHECK(b->fallback_amount.is_zero());
  CHECK_FALSE(parse_backend_summary("{\"default\":{}}").is_ok());
  CHECK_FALSE(parse_processor_summary("nope").is_ok());
  std::string problem;
  Result<http::HttpResponse> not_found = http::HttpResponse{404, "", {}, {}};
  CHECK(processor_summary_or_zero(not_found, &problem).requests == 0);
  CHECK(problem == "HTTP 404");
}

TEST_CASE("summary requests carry toISOString() bounds and the token") {
  auto r = processor_summary_request("http://h:1", "tok", UtcMillis{1752148800000},
                                     UtcMillis{1752148801500});
  CHECK(r.url ==
        "http://h:1/admin/"
        "payments-summary?from=2025-07-10T12:00:00.000Z&to=2025-07-10T12:00:01.500Z");
  CHECK(r.headers.at(0).second == "tok");
  CHECK(backend_summary_request("http://h:1", std::nullopt, std::nullopt).url ==
        "http://h:1/payments-summary");
}

TEST_CASE("POSTs are bucketed by the second they were sent") {
  PostSeries p;
  p.on_sent(10);
  p.on_sent(900);
  p.on_sent(1500);
  p.on_sent(3200);
  p.on_done(10, true, false, 2.0);
  p.on_done(900, true, false, 4.0);
  p.on_done(1500, false, true, std::nullopt);
  p.on_done(3200, false, false, std::nullopt);
  CHECK(p.seconds() == 4);
  CHECK(p.sent_since(0) == 4);
  CHECK(p.sent_since(900) == 3);
  CHECK(p.sent_since(901) == 2);
  CHECK(p.sent_since(5000) == 0);
  report::Series s;
  s.resize(5);
  p.fill(s);
  CHECK(s.sent == std::vector<int64_t>{2, 1, 0, 1, 0});
  CHECK(s.ok == std::vector<int64_t>{2, 0, 0, 0, 0});
  CHECK(s.failed == std::vector<int64_t>{0, 1, 0, 1, 0});
  CHECK(s.timeouts == std::vector<int64_t>{0, 1, 0, 0, 0});
  CHECK(s.p50[0] == 3.0);  // k6's interpolation between 2 and 4
  CHECK(s.max[0] == 4.0);
  CHECK_FALSE(s.p99[1]);
}

TEST_CASE("a short run against emulators completes, applies the timeline and writes the JSON") {
  emulator::EmulatorOptions o;
  o.fee = "0.07";
  emulator::Emulator def(o), fb(o), backend(o);  // the "backend" answers 400: all POSTs fail
  REQUIRE(def.start().is_ok());
  REQUIRE(fb.start().is_ok());
  REQUIRE(backend.start().is_ok());
  auto url = [](const emulator::Emulator& e) {
    return "http://127.0.0.1:" + std::to_string(e.port());
  };
  char path[] = "/tmp/loadgen_test_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  LoadOptions lo;
  lo.target = url(backend);
  lo.default_url = url(def);
  lo.fallback_url = url(fb);
  lo.profile = "final";
  lo.vus = 4;
  lo.duration_s = 2;
  lo.rotate_token = true;
  lo.json_out = path;
  CHECK(run_load(lo) == 0);
  // The scaled timeline ran up to its last stage (270 s -> 1.8 s): default delay 2000.
  http::HttpRequest h;
  h.url = url(def) + "/payments/service-health";
  auto r = http::http_send(h);
  REQUIRE(r.is_ok());
  CHECK(r->body == "{\"failing\":false,\"minResponseTime\":2000}");
  // The token was rotated for the run and restored afterwards.
  http::HttpRequest s;
  s.url = url(def) + "/admin/payments-summary";
  s.headers.emplace_back("X-Rinha-Token", "123");
  CHECK(http::http_send(s)->status == 200);
  std::ifstream in(path);
  std::stringstream json;
  json << in.rdbuf();
  CHECK(json.str().find("\"qtd_sucesso\": 0") != std::string::npos);
  CHECK(json.str().find("\"max_requests\": \"4\"") != std::string::npos);
  CHECK(json.str().find("\"rinha_run\": {\"schema\":\"rinha-run/1\"") != std::string::npos);
  std::remove(path);
}

TEST_CASE("a run with --timeline applies its stages and insert time, then restores the latter") {
  emulator::EmulatorOptions o;
  o.insert_latency_ms = 3;  // what the run must put back
  emulator::Emulator def(o), fb(o), backend(o);
  REQUIRE(def.start().is_ok());
  REQUIRE(fb.start().is_ok());
  REQUIRE(backend.start().is_ok());
  auto url = [](const emulator::Emulator& e) {
    return "http://127.0.0.1:" + std::to_string(e.port());
  };
  char path[] = "/tmp/loadgen_timeline_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << "name: t\nduration_s: 2\ninsert:\n  fallback: {latency_ms: 40}\n"
                         "stages:\n  - at_s: 0.2\n    default: {delay_ms: 700}\n"
                         "  - at_s: 1\n    fallback: {delay_ms: 9}\n";
  LoadOptions lo;
  lo.target = url(backend);
  lo.default_url = url(def);
  lo.fallback_url = url(fb);
  lo.profile = "final";
  lo.vus = 2;
  lo.timeline_path = path;
  CHECK(run_load(lo) == 0);
  auto health = [](const std::string& base) {
    http::HttpRequest h;
    h.url = base + "/payments/service-health";
    return http::http_send(h).value().body;
  };
  CHECK(health(url(def)) == "{\"failing\":false,\"minResponseTime\":700}");
  CHECK(health(url(fb)) == "{\"failing\":false,\"minResponseTime\":9}");
  // The fallback's insert time went back to its own 3 ms; the default's was never touched.
  for (const auto* e : {&fb, &def}) {
    http::HttpRequest put;
    put.method = "PUT";
    put.url = url(*e) + "/admin/configurations/insert";
    put.body = "{\"latency\":0,\"jitter\":0}";
    put.headers.emplace_back("X-Rinha-Token", "123");
    auto r = http::http_send(put);
    REQUIRE(r.is_ok());
    CHECK(r->body.find("\"was\":{\"latency\":3,\"jitter\":0}") != std::string::npos);
  }
  // A bad file fails before anything is sent.
  std::ofstream(path) << "stages:\n  - at_s: later\n";
  CHECK(run_load(lo) == 2);
  std::remove(path);
}

TEST_CASE("a run against a backend that does not answer fails before setup") {
  emulator::Emulator def(emulator::EmulatorOptions{});
  REQUIRE(def.start().is_ok());
  std::string url = "http://127.0.0.1:" + std::to_string(def.port());
  LoadOptions lo;
  lo.target = "http://127.0.0.1:1";  // nothing listens on port 1
  lo.default_url = url;
  lo.fallback_url = url;
  lo.duration_s = 1;
  lo.vus = 1;
  CHECK(run_load(lo) == 1);
}

TEST_CASE("a response is framed by Content-Length, chunks or the close") {
  using S = FramedResponse::State;
  const std::string fixed = "HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n\r\nhello";
  FramedResponse r = frame_response(fixed, false);
  CHECK(r.state == S::kComplete);
  CHECK(r.status == 202);
  CHECK(r.keep_alive);
  CHECK(r.length == fixed.size());
  // Short of its body: incomplete, and bad once the peer closed.
  CHECK(frame_response(fixed.substr(0, fixed.size() - 1), false).state == S::kIncomplete);
  CHECK(frame_response(fixed.substr(0, fixed.size() - 1), true).state == S::kBad);
  CHECK(frame_response("HTTP/1.1 202 Acc", false).state == S::kIncomplete);
  // Only this answer's bytes: what follows is not part of it.
  CHECK(frame_response(fixed + "HTTP/1.1", false).length == fixed.size());

  const std::string chunked =
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4;x=1\r\nabcd\r\nA\r\n0123456789\r\n"
      "0\r\n\r\n";
  r = frame_response(chunked, false);
  CHECK(r.state == S::kComplete);
  CHECK(r.length == chunked.size());
  CHECK(frame_response(chunked.substr(0, chunked.size() - 2), false).state == S::kIncomplete);
  const std::string trailer =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n";
  CHECK(frame_response(trailer, false).length == trailer.size());
  CHECK(
      frame_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false).state ==
      S::kBad);

  // No length: the body runs to the close, and the connection cannot be kept.
  const std::string until_close = "HTTP/1.1 200 OK\r\n\r\nbody";
  CHECK(frame_response(until_close, false).state == S::kIncomplete);
  r = frame_response(until_close, true);
  CHECK(r.state == S::kComplete);
  CHECK_FALSE(r.keep_alive);
  CHECK(r.length == until_close.size());

  // Keep-alive: 1.1 unless told close, 1.0 only when told keep-alive.
  CHECK_FALSE(
      frame_response("HTTP/1.1 400 Bad\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n", false)
          .keep_alive);
  CHECK_FALSE(frame_response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false).keep_alive);
  CHECK(frame_response("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
                       false)
            .keep_alive);
  // 204 has no body; a 100 Continue before the answer is skipped.
  CHECK(frame_response("HTTP/1.1 204 No Content\r\n\r\n", false).state == S::kComplete);
  r = frame_response(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", false);
  CHECK(r.status == 201);
  CHECK(r.state == S::kComplete);
  // Not HTTP, or a length that is not a number.
  CHECK(frame_response("SSH-2.0-OpenSSH\r\n\r\n", false).state == S::kBad);
  CHECK(frame_response("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", false).state == S::kBad);
}

namespace {

struct DriverRun {
  PaymentsCounters counters;
  LatencyRecorder latency;
};

// `vus` VUs, all from the start, for `duration_ms`, against `url`.
void drive(DriverRun& run, const std::string& url, int vus, int64_t duration_ms,
           std::chrono::milliseconds timeout = std::chrono::milliseconds(1500)) {
  PaymentsOptions po;
  po.url = url;
  po.amount_json = "20.05";
  po.vus = vus;
  po.ramp = false;
  po.duration_ms = duration_ms;
  po.timeout = timeout;
  std::atomic<bool> stop{false};
  run_payments(po, std::chrono::steady_clock::now(), run.latency, run.counters, stop);
}

// A listening loopback socket on a free port (the kernel completes connects to its backlog).
net::Fd listener(uint16_t& port) {
  net::Fd fd(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(bind(fd.get(), reinterpret_cast<sockaddr*>(&a), len) == 0);
  REQUIRE(listen(fd.get(), 64) == 0);
  REQUIRE(getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
  port = ntohs(a.sin_port);
  return fd;
}

}  // namespace

TEST_CASE("each VU keeps one keep-alive connection and every answer is timed") {
  noop::NoopServer backend;
  REQUIRE(backend.start("127.0.0.1", 0).is_ok());
  DriverRun run;
  // 5 VUs at 0, ~1 and ~2 s (1 s after each answer) within 2.5 s.
  drive(run, "http://127.0.0.1:" + std::to_string(backend.port()) + "/payments", 5, 2500);
  CHECK(run.counters.sent.load() == 15);
  CHECK(run.counters.ok.load() == 15);
  CHECK(run.counters.failed.load() == 0);
  CHECK(run.counters.in_flight.load() == 0);
  CHECK(run.counters.connects.load() == 5);
  CHECK(run.latency.sorted_ms().size() == 15);
}

TEST_CASE("a server closing after each answer gets a new connection per POST") {
  uint16_t port = 0;
  net::Fd lfd = listener(port);
  std::thread server([&] {
    for (int k = 0; k < 6; ++k) {
      net::Fd c(accept(lfd.get(), nullptr, nullptr));
      if (!c.valid()) return;
      char buf[1024];
      std::string in;
      while (in.find("}") == std::string::npos) {  // the whole JSON body
        const ssize_t n = recv(c.get(), buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
      }
      const std::string a =
          "HTTP/1.1 202 Accepted\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
      send(c.get(), a.data(), a.size(), MSG_NOSIGNAL);  // short or failed: the counts show it
    }
  });
  DriverRun run;
  drive(run, "http://localhost:" + std::to_string(port) + "/payments", 3, 1500);
  server.join();
  CHECK(run.counters.sent.load() == 6);
  CHECK(run.counters.ok.load() == 6);
  CHECK(run.counters.connects.load() == 6);
}

TEST_CASE("a POST unanswered within the timeout fails as a timeout and drops its connection") {
  uint16_t port = 0;
  net::Fd lfd = listener(port);  // never accepts: connects complete, nothing answers
  DriverRun run;
  drive(run, "http://127.0.0.1:" + std::to_string(port) + "/payments", 3, 1000,
        std::chrono::milliseconds(200));
  // One POST per VU: timed out at 0.2 s, the next would be due at 1.2 s, after the end.
  CHECK(run.counters.sent.load() == 3);
  CHECK(run.counters.failed.load() == 3);
  CHECK(run.counters.timeouts.load() == 3);
  CHECK(run.counters.ok.load() == 0);
  CHECK(run.latency.sorted_ms().empty());
}
