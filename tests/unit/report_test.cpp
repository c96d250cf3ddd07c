// report: the /proc and Prometheus parsers, the run record's JSON (ceilings exact, the official
// keys untouched when the record is appended) and the page assembly (markers replaced, nothing
// that could close a <script> early).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "instrument/report/machine.hpp"
#include "instrument/report/page.hpp"
#include "instrument/report/run_record.hpp"

using namespace rinha;
using namespace rinha::report;
using score::Decimal;

TEST_CASE("loadavg and cpu lines parse and malformed ones give nothing") {
  CHECK(parse_loadavg("0.52 1.25 3.00 2/345 6789\n") == std::vector<double>{0.52, 1.25, 3.0});
  CHECK(parse_loadavg("garbage").empty());
  auto a = parse_cpu_times("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n");
  auto b = parse_cpu_times("cpu  150 0 100 850 50 0 0 0 0 0\n");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->busy == 150);
  CHECK(a->total == 1000);
  CHECK(busy_pct(*a, *b).value() == Approx(100.0 * 100 / 150));
  CHECK_FALSE(busy_pct(*a, *a));
  CHECK_FALSE(parse_cpu_times("intr 1 2 3\n"));
}

TEST_CASE("the worker's gauges come out of its /metrics text") {
  const char* text =
      "# TYPE rinha_worker_backlog gauge\n"
      "rinha_worker_backlog 17\n"
      "# TYPE rinha_worker_in_flight gauge\n"
      "rinha_worker_in_flight{processor=\"default\"} 250\n"
      "rinha_worker_in_flight{processor=\"fallback\"} 3\n"
      "rinha_worker_processor_sent_total{processor=\"default\"} 999\n";
  WorkerGauges g = parse_worker_gauges(text);
  CHECK(g.backlog == 17);
  CHECK(g.in_flight_default == 250);
  CHECK(g.in_flight_fallback == 3);
  WorkerGauges none = parse_worker_gauges("rinha_api_requests_total 5\n");
  CHECK_FALSE(none.backlog);
  CHECK_FALSE(none.in_flight_default);
}

TEST_CASE("the record carries exact money, ceilings and nulls where nothing was measured") {
  RunRecord r;
  r.label = "x";
  Accounting a;
  a.name = "whole_run";
  a.in.default_totals = {90, Decimal::parse("1791").value(), Decimal::parse("0.05").value()};
  a.in.fallback_totals = {10, Decimal::parse("199").value(), Decimal::parse("0.15").value()};
  a.in.post_successes = 100;
  a.in.p99_ms = 1.0;
  a.result = score::compute_score(a.in);
  a.ceiling_requests = 100;
  a.amount = Decimal::parse("19.90").value();
  r.accountings.push_back(a);
  r.series.resize(2);
  r.series.p99[1] = 3.5;
  r.profile.check_every_ms = 250;
  r.checks.resize(2);
  r.checks[0].backend_us = 1234;  // the second check's summary did not answer
  auto j = nlohmann::json::parse(record_json(r));
  CHECK(j["schema"] == kSchema);
  const auto& acc = j["accountings"][0];
  CHECK(acc["liquid"] == "1870.6");             // 1990 - 89.55 - 29.85
  CHECK(acc["ceiling"]["liquid"] == "1890.5");  // 100 x 19.90 x 0.95
  CHECK(acc["ceiling"]["score"] == "2306.41");  // x 1.22
  CHECK(acc["ceiling"]["liquid_ratio"].get<double>() == Approx(1870.6 / 1890.5));
  CHECK(acc["bonus_pct"] == "20");
  CHECK(j["series"]["p99"][0].is_null());
  CHECK(j["series"]["p99"][1] == 3.5);
  CHECK(j["profile"]["check_every_ms"] == 250);
  CHECK(j["checks"][0]["backend_us"] == 1234);
  CHECK(j["checks"][1]["backend_us"].is_null());
}

TEST_CASE("the record is appended as the last key of final-results.json") {
  const std::string official = "{\n  \"participante\": \"a\",\n  \"total_liquido\": 1\n}\n";
  auto both = embed_record(official, "{\"schema\":\"rinha-run/1\"}");
  REQUIRE(both.is_ok());
  auto j = nlohmann::ordered_json::parse(*both);
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"participante", "total_liquido", "rinha_run"});
  CHECK(both->rfind(official.substr(0, official.size() - 3), 0) == 0);  // untouched prefix
  CHECK_FALSE(embed_record("[1]", "{}").is_ok());
  CHECK(nlohmann::json::parse(*embed_record("{}", "{}")).contains("rinha_run"));
}

TEST_CASE("the page inlines the library and the records, and nothing closes a script early") {
  CHECK(escape_for_script("a</script>b</") == "a<\\/script>b<\\/");
  std::string page =
      render_page("t <1>", {"{\"label\":\"</script><b>\"}"}, "var lib = '</script>';");
  CHECK(page.find("@@RINHA_") == std::string::npos);
  CHECK(page.find("<title>t &lt;1&gt;</title>") != std::string::npos);
  CHECK(page.find("[{\"label\":\"<\\/script><b>\"}]") != std::string::npos);
  CHECK(page.find("var lib = '<\\/script>';") != std::string::npos);
  // Only the template's own script elements close.
  size_t closes = 0;
  for (size_t at = page.find("</script>"); at != std::string::npos;
       at = page.find("</script>", at + 1))
    ++closes;
  CHECK(closes == 3);
  CHECK(page.find("Content-Security-Policy") != std::string::npos);
}

TEST_CASE("a report without the chart library fails naming the package") {
  Status s = write_report("/tmp/never-written.html", "t", {"{}"}, "/nonexistent/chart.min.js");
  REQUIRE_FALSE(s.is_ok());
  CHECK(s.message().find("libjs-chart.js") != std::string::npos);
  CHECK_FALSE(write_report("/tmp/x.html", "t", {}).is_ok());
}
