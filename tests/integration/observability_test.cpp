// The worker's GET /metrics (worker.metrics_listen) against a real stack: counters, gauges and
// the latency histogram agree with the payments sent; and secrets (the database password) never
// show in --print-config, in --help or in the logs of either role.
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "instrument/http/http_client.hpp"
#include "instrument/stack/components.hpp"
#include "instrument/stack/net.hpp"
#include "support/books.hpp"
#include "support/fixture.hpp"
#include "support/traffic.hpp"

using namespace rinha;
using namespace rinha::testsupport;
using namespace std::chrono_literals;

namespace {

// "name{labels}" -> value, for every sample line of a Prometheus text page.
std::map<std::string, double> parse_samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    REQUIRE(sp != std::string::npos);
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

std::string fetch(const std::string& url) {
  http::HttpRequest r;
  r.url = url;
  r.timeout = 5000ms;
  auto resp = http::http_send(r);
  INFO(url << ": " << resp.status().message());
  REQUIRE(resp.is_ok());
  REQUIRE(resp->status == 200);
  return resp->body;
}

// Runs rinhad with args to completion (ready empty), or until ready() holds (at most 10 s, then
// the test fails) and stops it; returns its log.
std::string run_rinhad(const stack::TempDir& dir, std::vector<std::string> args,
                       const std::string& log, const std::function<bool()>& ready = {}) {
  args.insert(args.begin(), RINHAD_PATH);
  stack::ProcessSpec spec{"rinhad", args, {}, dir.file(log), "", "", false};
  if (!ready) {
    auto rc = stack::run_to_completion(spec, 10s);
    REQUIRE(rc.is_ok());
  } else {
    auto started = stack::Process::start(spec);
    REQUIRE(started.is_ok());
    stack::Process p = std::move(started).value();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!ready() && p.alive() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    const bool was_ready = ready();
    p.stop();
    INFO(stack::tail_file(dir.file(log), 20));
    REQUIRE(was_ready);
  }
  return stack::tail_file(dir.file(log), 1000);
}

}  // namespace

TEST_CASE("worker /metrics: counters, gauges and histogram follow the payments") {
  const int metrics_port = stack::free_port();
  stack::StackOptions o = test_options(Parts::whole());
  o.worker_args = {"--worker.metrics_listen", "127.0.0.1:" + std::to_string(metrics_port)};
  StackFixture f(o);
  const std::string url = "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics";
  const Endpoints ep{f.stack().lb_url(), f.stack().default_url(), f.stack().fallback_url()};

  auto idle = parse_samples(fetch(url));
  CHECK(idle.at("rinha_worker_payments_accepted_total") == 0);
  CHECK(idle.at("rinha_worker_backlog") == 0);
  // Served by the real worker (worker_test makes them move): nothing to probe while idle.
  CHECK(idle.at("rinha_worker_summary_probes_total") == 0);
  CHECK(idle.at("rinha_worker_summary_probe_results_total{result=\"found\"}") == 0);

  int64_t accepted = 0;
  std::vector<SentPayment> sent;
  {
    PaymentTraffic traffic(f.stack().lb_url(), 200, 2);
    std::this_thread::sleep_for(2s);
    traffic.stop();
    accepted = traffic.accepted();
    sent = traffic.sent();
  }
  REQUIRE(accepted > 200);
  auto settled = wait_settled(ep, accepted, 20s);
  REQUIRE(settled.is_ok());
  REQUIRE(settled->consistent());
  // A POST the client gave up on (no answer within its timeout) may still have been accepted:
  // its outcome is unknown, so what the worker took is what the processors hold, each sent id
  // looked up; every 2xx among them, and no id charged twice.
  auto audit = audit_payments(sent, ep);
  REQUIRE(audit.is_ok());
  INFO(*audit);
  check_books(*audit, *settled, accepted);
  const auto unanswered =
      std::count_if(sent.begin(), sent.end(), [](const SentPayment& p) { return p.status == 0; });
  CHECK(audit->unanswered_recorded <= unanswered);
  const int64_t taken = audit->recorded + audit->unanswered_recorded;

  // Rows reach PostgreSQL within a few flush intervals.
  std::map<std::string, double> m;
  for (int i = 0; i < 50; ++i) {
    m = parse_samples(fetch(url));
    if (m.at("rinha_worker_ledger_rows_written_total") == taken) break;
    std::this_thread::sleep_for(100ms);
  }
  const std::string d = "processor=\"default\"";
  CHECK(m.at("rinha_worker_payments_accepted_total") == taken);
  CHECK(m.at("rinha_worker_processor_outcomes_total{" + d + ",outcome=\"confirmed\"}") ==
        settled->proc_default.requests);
  CHECK(m.at("rinha_worker_processor_sent_total{" + d + "}") >= settled->proc_default.requests);
  CHECK(m.at("rinha_worker_ledger_rows_written_total") == taken);
  CHECK(m.at("rinha_worker_ledger_flush_seconds_count") > 0);
  CHECK(m.at("rinha_worker_ledger_flush_seconds_sum") > 0);
  CHECK(m.at("rinha_worker_ledger_pending_rows") == 0);
  CHECK(m.at("rinha_worker_backlog") == 0);
  CHECK(m.at("rinha_worker_in_flight{" + d + "}") == 0);
  CHECK(m.at("rinha_worker_summaries_total") > 0);  // wait_settled asked for some
  // Histogram: cumulative buckets, +Inf = count = replies, a sum in seconds.
  const std::string h = "rinha_worker_processor_latency_seconds";
  const double count = m.at(h + "_count{" + d + "}");
  CHECK(count == m.at("rinha_worker_processor_sent_total{" + d + "}"));
  CHECK(m.at(h + "_bucket{" + d + ",le=\"+Inf\"}") == count);
  double prev = 0;
  for (const char* le :
       {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "1.5", "2.5", "5", "10"}) {
    const double v = m.at(h + "_bucket{" + d + ",le=\"" + le + "\"}");
    CHECK(v >= prev);
    prev = v;
  }
  CHECK(prev == count);  // the emulator answers in well under 10 s
  CHECK(m.at(h + "_sum{" + d + "}") > 0);
  // Anything else is a JSON 404.
  http::HttpRequest other;
  other.url = "http://127.0.0.1:" + std::to_string(metrics_port) + "/nope";
  auto r = http::http_send(other);
  REQUIRE(r.is_ok());
  CHECK(r->status == 404);
  CHECK(f.stack().check_alive().is_ok());
}

TEST_CASE("the database password never shows in --print-config, --help or the logs") {
  stack::TempDir dir("rinha-secret-");
  const std::string secret = "Sup3rS3cretPw";
  const int closed = stack::free_port();  // nothing listens: the worker retries and logs it
  const std::string db =
      "postgresql://rinha:" + secret + "@127.0.0.1:" + std::to_string(closed) + "/rinha";
  const std::vector<std::string> common = {"--database.url",         db,
                                           "--worker.listen",        "unix:" + dir.file("w.sock"),
                                           "--handoff.journal_path", dir.file("journal")};

  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return extra;
  };
  const std::string printed = run_rinhad(dir, with({"--print-config"}), "print.log");
  CHECK(printed.find("database:") != std::string::npos);
  CHECK(printed.find("rinha:***@127.0.0.1") != std::string::npos);
  CHECK(printed.find(secret) == std::string::npos);

  const std::string help = run_rinhad(dir, with({"--help"}), "help.log");
  CHECK(help.find("database.url") != std::string::npos);
  CHECK(help.find(secret) == std::string::npos);

  // The worker logs about the database it cannot reach; the api, once it listens, its start.
  const std::string worker = run_rinhad(dir, with({"--mode=worker"}), "worker.log", [&] {
    return stack::tail_file(dir.file("worker.log"), 1000).find("database not ready") !=
           std::string::npos;
  });
  CHECK(worker.find(secret) == std::string::npos);

  const int api_port = stack::free_port();
  const std::string api_url = "http://127.0.0.1:" + std::to_string(api_port) + "/healthcheck";
  const std::string api =
      run_rinhad(dir, with({"--mode=api", "--api.listen", stack::loopback_address(api_port)}),
                 "api.log", [&] { return stack::wait_http_ok(api_url, 0ms).is_ok(); });
  CHECK(api.find("listening") != std::string::npos);
  CHECK(api.find(secret) == std::string::npos);
}
