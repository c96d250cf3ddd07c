// RunRecord to JSON (see run_record.hpp). Key names are the report page's vocabulary; the page
// and the browser test read them, so a rename here is a rename there (page.html).
#include "instrument/report/run_record.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>

namespace rinha::report {
namespace {

using Json = nlohmann::ordered_json;
using score::Decimal;

double to_double(const Decimal& d) { return std::strtod(d.to_string().c_str(), nullptr); }

// A share in [0, 1] for display; 0 when the ceiling is zero.
double ratio(const Decimal& part, const Decimal& whole) {
  double w = to_double(whole);
  return w > 0 ? to_double(part) / w : 0.0;
}

Json processor_json(const score::PaymentTotals& t, const Decimal& fee) {
  return Json{{"requests", t.requests},
              {"amount", t.amount.to_string()},
              {"fee_rate", t.fee_rate.to_string()},
              {"fee", fee.to_string()}};
}

Json accounting_json(const Accounting& a) {
  const auto& in = a.in;
  const auto& r = a.result;
  Decimal min_fee = in.default_totals.fee_rate < in.fallback_totals.fee_rate
                        ? in.default_totals.fee_rate
                        : in.fallback_totals.fee_rate;
  Decimal liquid_ceiling =
      Decimal::from_int(a.ceiling_requests) * a.amount * (Decimal::from_int(1) - min_fee);
  Decimal score_ceiling = liquid_ceiling * Decimal::of(122, 2);
  const Decimal hundred = Decimal::from_int(100);
  return Json{{"name", a.name},
              {"title", a.title},
              {"default", processor_json(in.default_totals, r.default_fee)},
              {"fallback", processor_json(in.fallback_totals, r.fallback_fee)},
              {"post_ok", in.post_successes},
              {"post_failed", in.post_failures},
              {"counted", r.counted},
              {"lag", r.lag},
              {"gross", r.gross.to_string()},
              {"fees", r.fees.to_string()},
              {"liquid", r.liquid_partial.to_string()},
              {"p99_ms", r.p99.to_string()},
              {"bonus_pct", (r.bonus * hundred).to_string()},
              {"inconsistencies", in.inconsistencies},
              {"fine_pct", (r.fine * hundred).to_string()},
              {"fine_total", r.fine_total.to_string()},
              {"score", r.score.to_string()},
              {"ceiling", Json{{"requests", a.ceiling_requests},
                               {"liquid", liquid_ceiling.to_string()},
                               {"score", score_ceiling.to_string()},
                               {"liquid_ratio", ratio(r.liquid_partial, liquid_ceiling)},
                               {"score_ratio", ratio(r.score, score_ceiling)}}}};
}

template <typename T>
Json nullable(const std::vector<std::optional<T>>& v) {
  Json a = Json::array();
  for (const auto& x : v) a.push_back(x ? Json(*x) : Json(nullptr));
  return a;
}

Json series_json(const Series& s) {
  return Json{{"sent", s.sent},
              {"ok", s.ok},
              {"failed", s.failed},
              {"timeouts", s.timeouts},
              {"p50", nullable(s.p50)},
              {"p90", nullable(s.p90)},
              {"p99", nullable(s.p99)},
              {"max", nullable(s.max)},
              {"default_payments", s.default_payments},
              {"fallback_payments", s.fallback_payments},
              {"backlog", nullable(s.backlog)},
              {"in_flight_default", nullable(s.in_flight_default)},
              {"in_flight_fallback", nullable(s.in_flight_fallback)},
              {"load1", nullable(s.load1)},
              {"cpu_busy_pct", nullable(s.cpu_busy_pct)}};
}

}  // namespace

void Series::resize(size_t n) {
  for (auto* v : {&sent, &ok, &failed, &timeouts, &default_payments, &fallback_payments})
    v->resize(n);
  for (auto* v : {&p50, &p90, &p99, &max, &load1, &cpu_busy_pct}) v->resize(n);
  for (auto* v : {&backlog, &in_flight_default, &in_flight_fallback}) v->resize(n);
}

std::string record_json(const RunRecord& r) {
  Json stages = Json::array();
  for (const auto& s : r.profile.stages)
    stages.push_back(Json{{"at_ms", s.at_ms},
                          {"default_delay_ms", s.default_delay_ms},
                          {"default_failure", s.default_failure},
                          {"fallback_delay_ms", s.fallback_delay_ms},
                          {"fallback_failure", s.fallback_failure}});
  Json accountings = Json::array();
  for (const auto& a : r.accountings) accountings.push_back(accounting_json(a));
  Json checks = Json::array();
  for (const auto& c : r.checks)
    checks.push_back(Json{{"t_s", c.t_s},
                          {"from", c.from},
                          {"to", c.to},
                          {"backend_default", c.counts.backend_default},
                          {"backend_fallback", c.counts.backend_fallback},
                          {"processor_default", c.counts.processor_default},
                          {"processor_fallback", c.counts.processor_fallback},
                          {"official", c.official},
                          {"corrected", c.corrected},
                          {"problem", c.problem},
                          {"backend_us", c.backend_us ? Json(*c.backend_us) : Json(nullptr)}});
  Json configs = Json::object();
  for (const auto& [role, text] : r.configs) configs[role] = text;
  Json j{
      {"schema", kSchema},
      {"label", r.label},
      {"started_at", r.started_at},
      {"finished_at", r.finished_at},
      {"target", r.target},
      {"default_url", r.default_url},
      {"fallback_url", r.fallback_url},
      {"profile", Json{{"name", r.profile.name},
                       {"vus", r.profile.vus},
                       {"duration_ms", r.profile.duration_ms},
                       {"amount", r.profile.amount},
                       {"teardown_window_ms", r.profile.teardown_window_ms},
                       {"check_every_ms", r.profile.check_every_ms},
                       {"money_from_backend", r.profile.money_from_backend},
                       {"stages", stages}}},
      {"accountings", accountings},
      {"posts",
       Json{{"sent", r.sent}, {"ok", r.ok}, {"failed", r.failed}, {"timeouts", r.timeouts}}},
      {"latency", Json{{"samples", r.latency_samples},
                       {"p50_ms", r.p50_ms},
                       {"p90_ms", r.p90_ms},
                       {"p99_ms", r.p99_ms},
                       {"max_ms", r.max_ms}}},
      {"series", series_json(r.series)},
      {"checks", checks},
      {"worker_metrics", Json{{"url", r.worker_metrics_url}, {"scrapes_ok", r.worker_scrapes_ok}}},
      {"configs", configs},
      {"machine", Json{{"cores", r.machine.cores},
                       {"cpu_model", r.machine.cpu_model},
                       {"mem_total_mib", r.machine.mem_total_mib},
                       {"kernel", r.machine.kernel},
                       {"load_before", r.machine.load_before},
                       {"load_after", r.machine.load_after}}},
      {"notes", r.notes}};
  return j.dump();
}

Result<std::string> embed_record(const std::string& official_json, const std::string& record) {
  size_t close = official_json.find_last_not_of(" \t\r\n");
  size_t open = official_json.find_first_not_of(" \t\r\n");
  if (close == std::string::npos || official_json[open] != '{' || official_json[close] != '}')
    return Status::invalid_argument("not a JSON object");
  size_t last = official_json.find_last_not_of(" \t\r\n", close - 1);
  const bool empty = official_json[last] == '{';
  return official_json.substr(0, last + 1) + (empty ? "\n" : ",\n") + "  \"" + kRecordKey +
         "\": " + record + "\n}\n";
}

}  // namespace rinha::report
