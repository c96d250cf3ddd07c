// `rinhactl load` (see load.hpp). Reads only LoadOptions. Mirrors rinha.js / rinha-final.js:
// setup (token, processor purge must succeed; backend purge errors ignored), three concurrent
// scenarios (payments, payments_consistency, stage_NN), teardown over the last window, and
// handleSummary's arithmetic (src/instrument/score). It adds a whole-run accounting with the
// corrected inconsistency count; it never retries a request, as k6 does not.
#include "instrument/loadgen/load.hpp"

#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "common/time.hpp"
#include "common/uuid.hpp"
#include "instrument/http/http_client.hpp"
#include "instrument/loadgen/latency.hpp"
#include "instrument/loadgen/payments_driver.hpp"
#include "instrument/loadgen/post_series.hpp"
#include "instrument/loadgen/profile.hpp"
#include "instrument/loadgen/summaries.hpp"
#include "instrument/loadgen/timeline.hpp"
#include "instrument/report/machine.hpp"
#include "instrument/report/page.hpp"
#include "instrument/report/run_record.hpp"
#include "instrument/report/sampler.hpp"
#include "instrument/score/score.hpp"

namespace rinha::loadgen {
namespace {

using http::HttpRequest;
using http::HttpResponse;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

struct Run {
  LoadOptions opts;
  Profile profile;
  std::string token;
  SystemClock clock;
  LatencyRecorder latency;
  PaymentsCounters counters;
  PostSeries posts;  // written by the payments thread, read after it ends
  std::atomic<bool> stop{false};
  SteadyTime start;
  UtcMillis start_wall;
  std::mutex mu;
  int checks = 0;             // GUARDED_BY(mu)
  int64_t official_inc = 0;   // GUARDED_BY(mu)
  int64_t corrected_inc = 0;  // GUARDED_BY(mu)
  int admin_errors = 0;       // GUARDED_BY(mu)
  // A custom timeline's insert times, applied at setup; what each processor had, restored after.
  std::array<std::optional<InsertTime>, 2> insert;
  std::array<std::optional<InsertTime>, 2> insert_was;
  std::vector<report::CheckRecord> check_records;  // GUARDED_BY(mu)
};

Result<HttpResponse> call(Run& run, const HttpRequest& req) {
  auto r = http::http_send(req);
  if (r.is_ok()) run.latency.add_if_expected(r->status, r->duration);
  return r;
}

std::vector<Result<HttpResponse>> call_parallel(Run& run, const std::vector<HttpRequest>& reqs) {
  auto rs = http::http_parallel(reqs);
  for (auto& r : rs)
    if (r.is_ok()) run.latency.add_if_expected(r->status, r->duration);
  return rs;
}

// method ("PUT"), url ("http://...") and token never look alike: a swap fails every admin call
// of a run at once, not silently.
// NOLINTNEXTLINE(bugprone-easily-swappable-parameters)
HttpRequest admin(const std::string& method, const std::string& url, const std::string& token,
                  std::string body = {}) {
  HttpRequest r;
  r.method = method;
  r.url = url;
  r.body = std::move(body);
  r.headers.emplace_back("X-Rinha-Token", token);
  return r;
}

std::string describe(const Result<HttpResponse>& r) {
  return r.is_ok() ? "HTTP " + std::to_string(r->status) : r.status().message();
}

// Waits until `t` or until the run is stopped; false when stopped.
bool sleep_until(Run& run, SteadyTime t) {
  while (SteadyClock::now() < t) {
    if (run.stop.load()) return false;
    auto left = t - SteadyClock::now();
    std::this_thread::sleep_for(std::min<SteadyClock::duration>(left, milliseconds(50)));
  }
  return !run.stop.load();
}

std::string random_token() {
  std::mt19937_64 rng{std::random_device{}()};
  Uuid id;
  for (auto& b : id.bytes) b = static_cast<uint8_t>(rng());
  return format_uuid(id);
}

bool set_token(Run& run, const std::string& from, const std::string& to, bool record) {
  for (const std::string* url : {&run.opts.default_url, &run.opts.fallback_url}) {
    HttpRequest req =
        admin("PUT", *url + "/admin/configurations/token", from, "{\"token\":\"" + to + "\"}");
    auto r = record ? call(run, req) : http::http_send(req);
    if (!r.is_ok() || r->status != 204) {
      std::fprintf(stderr, "setup: token PUT on %s: %s (want 204)\n", url->c_str(),
                   describe(r).c_str());
      return false;
    }
  }
  return true;
}

// The runner's readiness gate, shortened: the backend must answer GET /payments-summary at all
// (3 tries, 1 s apart); a non-200 answer is only reported, as k6 would count it as zeros.
bool backend_reachable(Run& run) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(milliseconds(1000));
    auto r = http::http_send(backend_summary_request(run.opts.target, std::nullopt, std::nullopt));
    if (!r.is_ok()) continue;
    if (r->status != 200)
      std::fprintf(stderr, "load: %s/payments-summary answers HTTP %ld (the runner wants 200)\n",
                   run.opts.target.c_str(), r->status);
    return true;
  }
  std::fprintf(stderr, "load: backend %s does not answer\n", run.opts.target.c_str());
  return false;
}

// The emulator's answer to PUT /admin/configurations/insert carries the values it replaced.
std::optional<InsertTime> previous_insert(const std::string& body) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(body);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object was;
  InsertTime t;
  if (parser.iterate(json).get(doc) || doc["was"].get_object().get(was) ||
      was["latency"].get_int64().get(t.latency_ms) || was["jitter"].get_int64().get(t.jitter_ms))
    return std::nullopt;
  return t;
}

// Sets each processor's insert time the timeline gives (restore: puts back what it replaced).
bool set_insert(Run& run, bool restore) {
  const std::array<const std::string*, 2> urls{&run.opts.default_url, &run.opts.fallback_url};
  for (size_t i = 0; i < urls.size(); ++i) {
    const auto& want = restore ? run.insert_was[i] : run.insert[i];
    if (!want) continue;
    const std::string body = "{\"latency\":" + std::to_string(want->latency_ms) +
                             ",\"jitter\":" + std::to_string(want->jitter_ms) + "}";
    auto r =
        http::http_send(admin("PUT", *urls[i] + "/admin/configurations/insert", run.token, body));
    if (!r.is_ok() || r->status != 200) {
      std::fprintf(stderr,
                   "%s: insert time PUT on %s: %s (want 200; only rinhactl's emulator has it)\n",
                   restore ? "teardown" : "setup", urls[i]->c_str(), describe(r).c_str());
      return false;
    }
    if (!restore) run.insert_was[i] = previous_insert(r->body);
  }
  return true;
}

bool setup(Run& run) {
  run.token = run.opts.token;
  if (run.opts.rotate_token) {
    std::string fresh = random_token();
    if (!set_token(run, run.opts.token, fresh, true)) return false;
    run.token = fresh;
  }
  for (const std::string* url : {&run.opts.default_url, &run.opts.fallback_url}) {
    auto r = call(run, admin("POST", *url + "/admin/purge-payments", run.token));
    if (!r.is_ok() || r->status != 200) {
      std::fprintf(stderr, "setup: purge on %s: %s (want 200)\n", url->c_str(),
                   describe(r).c_str());
      return false;
    }
  }
  if (!set_insert(run, false)) return false;
  HttpRequest purge;
  purge.method = "POST";
  purge.url = run.opts.target + "/purge-payments";
  auto r = call(run, purge);  // optional endpoint: errors ignored, as in k6
  if (!r.is_ok() || r->status >= 300)
    std::fprintf(stderr, "setup: backend purge: %s (ignored)\n", describe(r).c_str());
  return true;
}

// payments_consistency: one check per iteration, then sleep(10), while the scenario lasts.
void checker(Run& run) {
  const SteadyTime end = run.start + milliseconds(run.profile.duration_ms);
  while (SteadyClock::now() < end && !run.stop.load()) {
    UtcMillis now = run.clock.now_utc();
    UtcMillis from{now.value - run.profile.check_from_ms};
    UtcMillis to{now.value - run.profile.check_to_ms};
    auto rs =
        call_parallel(run, {processor_summary_request(run.opts.default_url, run.token, from, to),
                            processor_summary_request(run.opts.fallback_url, run.token, from, to),
                            backend_summary_request(run.opts.target, from, to)});
    std::string p1, p2, p3;
    ProcessorSummary d = processor_summary_or_zero(rs[0], &p1);
    ProcessorSummary f = processor_summary_or_zero(rs[1], &p2);
    BackendSummary b = backend_summary_or_zero(rs[2], &p3);
    score::CheckCounts c{b.default_requests, b.fallback_requests, d.requests, f.requests};
    int64_t off = score::official_inconsistencies(c);
    int64_t cor = score::corrected_inconsistencies(c);
    double t = std::chrono::duration<double>(SteadyClock::now() - run.start).count();
    report::CheckRecord rec{t, format_iso8601(from), format_iso8601(to), c, off, cor, {}, {}};
    if (rs[2].is_ok() && rs[2]->status == 200)
      rec.backend_us =
          std::chrono::duration_cast<std::chrono::microseconds>(rs[2]->duration).count();
    for (const auto& [who, p] : {std::pair{"default", &p1}, {"fallback", &p2}, {"backend", &p3}})
      if (!p->empty()) rec.problem += (rec.problem.empty() ? "" : "; ") + (who + (": " + *p));
    {
      std::scoped_lock lock(run.mu);
      ++run.checks;
      run.official_inc += off;
      run.corrected_inc += cor;
      run.check_records.push_back(std::move(rec));
    }
    if (off > 0 || cor > 0 || !p1.empty() || !p2.empty() || !p3.empty()) {
      std::fprintf(stderr,
                   "\ncheck t=%.1fs: backend %lld/%lld vs processors %lld/%lld -> official %lld, "
                   "corrected %lld%s%s%s%s%s%s\n",
                   t, static_cast<long long>(b.default_requests),
                   static_cast<long long>(b.fallback_requests), static_cast<long long>(d.requests),
                   static_cast<long long>(f.requests), static_cast<long long>(off),
                   static_cast<long long>(cor), p1.empty() ? "" : "; default: ", p1.c_str(),
                   p2.empty() ? "" : "; fallback: ", p2.c_str(),
                   p3.empty() ? "" : "; backend: ", p3.c_str());
    }
    if (!sleep_until(run, SteadyClock::now() + milliseconds(run.profile.check_sleep_ms))) return;
  }
}

// stage_NN scenarios: four sequential admin calls at each stage's start time.
void stages(Run& run) {
  for (const Stage& s : run.profile.stages) {
    if (s.at_ms >= run.profile.duration_ms) break;
    if (!sleep_until(run, run.start + milliseconds(s.at_ms))) return;
    auto put = [&](const std::string& url, const char* what, const std::string& body) {
      auto r = call(run, admin("PUT", url + "/admin/configurations/" + what, run.token, body));
      if (!r.is_ok() || r->status != 200) {
        std::fprintf(stderr, "\nstage at %.1fs: %s %s: %s (want 200)\n", s.at_ms / 1000.0,
                     url.c_str(), what, describe(r).c_str());
        std::scoped_lock lock(run.mu);
        ++run.admin_errors;
      }
    };
    put(run.opts.default_url, "delay", "{\"delay\":" + std::to_string(s.default_delay_ms) + "}");
    put(run.opts.fallback_url, "delay", "{\"delay\":" + std::to_string(s.fallback_delay_ms) + "}");
    put(run.opts.default_url, "failure",
        std::string("{\"failure\":") + (s.default_failure ? "true" : "false") + "}");
    put(run.opts.fallback_url, "failure",
        std::string("{\"failure\":") + (s.fallback_failure ? "true" : "false") + "}");
  }
}

void progress(Run& run, bool tty) {
  auto last = SteadyClock::now();
  int64_t last_sent = 0;
  auto next_line = last;
  while (!run.stop.load()) {
    std::this_thread::sleep_for(milliseconds(250));
    auto now = SteadyClock::now();
    if (now < next_line) continue;
    next_line = now + (tty ? milliseconds(1000) : milliseconds(10000));
    int64_t sent = run.counters.sent.load();
    double dt = std::chrono::duration<double>(now - last).count();
    double rate = dt > 0 ? (sent - last_sent) / dt : 0;
    last = now;
    last_sent = sent;
    int checks, off, cor;
    {
      std::scoped_lock lock(run.mu);
      checks = run.checks;
      off = static_cast<int>(run.official_inc);
      cor = static_cast<int>(run.corrected_inc);
    }
    std::fprintf(stderr,
                 "%st=%5.1fs vus=%3d req/s=%5.0f ok=%lld fail=%lld timeouts=%lld inflight=%lld "
                 "checks=%d incons=%d/%d%s",
                 tty ? "\r" : "", std::chrono::duration<double>(now - run.start).count(),
                 run.counters.vus.load(), rate, static_cast<long long>(run.counters.ok.load()),
                 static_cast<long long>(run.counters.failed.load()),
                 static_cast<long long>(run.counters.timeouts.load()),
                 static_cast<long long>(run.counters.in_flight.load()), checks, off, cor,
                 tty ? "   " : "\n");
  }
  if (tty) std::fprintf(stderr, "\n");
}

score::PaymentTotals totals(int64_t n, const score::Decimal& amount, const score::Decimal& fee) {
  return score::PaymentTotals{n, amount, fee};
}

constexpr const char* kWholeRunTitle = "processor totals over the run, sum of |differences|";

std::string official_title(const Profile& p) {
  return "window " + std::to_string(p.teardown_window_ms / 1000) + " s, " +
         (p.money_from_backend ? "backend" : "processor") + " totals, |sum of differences|";
}

// The value of KEY in a stack.env text (KEY=VALUE lines); "" when absent.
std::string env_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  return {};
}

// A processor's rows per second of the run by requestedAt (whole milliseconds): second k is
// [start_wall + k s, start_wall + k s + 999 ms]. Asked after teardown, 20 windows at a time, so
// that none of it weighs on the run. Seconds whose answer failed count 0 and are named in
// `problem`.
std::vector<int64_t> per_second_payments(const Run& run, const std::string& url, size_t n,
                                         std::string* problem) {
  std::vector<int64_t> out(n, 0);
  size_t failed = 0;
  for (size_t k0 = 0; k0 < n; k0 += 20) {
    std::vector<HttpRequest> reqs;
    for (size_t k = k0; k < std::min(n, k0 + 20); ++k) {
      UtcMillis from{run.start_wall.value + static_cast<int64_t>(k) * 1000};
      reqs.push_back(processor_summary_request(url, run.token, from, UtcMillis{from.value + 999}));
    }
    auto rs = http::http_parallel(reqs);
    for (size_t i = 0; i < rs.size(); ++i) {
      std::string p;
      out[k0 + i] = processor_summary_or_zero(rs[i], &p).requests;
      if (!p.empty()) ++failed;
    }
  }
  if (failed > 0)
    *problem = url + ": " + std::to_string(failed) + " of " + std::to_string(n) +
               " per-second summaries failed (counted as 0)";
  return out;
}

// What the report needs beyond the score: profile, series, checks, configuration, machine.
struct RecordParts {
  std::vector<report::Accounting> accountings;
  std::vector<double> sorted_latency;
  UtcMillis finished;
  report::MachineRecord machine;
  const report::Sampler* sampler = nullptr;
  int64_t whole_default = 0, whole_fallback = 0;  // processors' rows over the whole run
};

report::RunRecord build_record(Run& run, RecordParts parts) {
  const LoadOptions& o = run.opts;
  report::RunRecord r;
  r.label = o.label.empty() ? o.participant : o.label;
  r.started_at = format_iso8601(run.start_wall);
  r.finished_at = format_iso8601(parts.finished);
  r.target = o.target;
  r.default_url = o.default_url;
  r.fallback_url = o.fallback_url;
  const Profile& p = run.profile;
  r.profile = {p.name,
               p.vus,
               p.duration_ms,
               p.amount,
               p.teardown_window_ms,
               p.check_sleep_ms,
               p.money_from_backend,
               {}};
  for (const Stage& s : p.stages)
    if (s.at_ms < p.duration_ms) r.profile.stages.push_back(s);
  r.accountings = std::move(parts.accountings);
  r.sent = run.counters.sent.load();
  r.ok = run.counters.ok.load();
  r.failed = run.counters.failed.load();
  r.timeouts = run.counters.timeouts.load();
  const auto& sorted = parts.sorted_latency;
  r.latency_samples = static_cast<int64_t>(sorted.size());
  r.p50_ms = percentile(sorted, 0.5);
  r.p90_ms = percentile(sorted, 0.9);
  r.p99_ms = percentile(sorted, 0.99);
  r.max_ms = sorted.empty() ? 0.0 : sorted.back();

  // Seconds up to the teardown: POSTs, samples and processor rows all fit in them.
  const int64_t elapsed_ms = parts.finished.value - run.start_wall.value;
  const size_t n =
      std::max<size_t>(run.posts.seconds(), static_cast<size_t>(elapsed_ms / 1000 + 1));
  r.series.resize(n);
  run.posts.fill(r.series);
  if (parts.sampler) parts.sampler->fill(r.series);
  std::string problem;
  r.series.default_payments = per_second_payments(run, o.default_url, n, &problem);
  if (!problem.empty()) r.notes.push_back(problem);
  problem.clear();
  r.series.fallback_payments = per_second_payments(run, o.fallback_url, n, &problem);
  if (!problem.empty()) r.notes.push_back(problem);
  int64_t d = 0, f = 0;
  for (size_t k = 0; k < n; ++k) {
    d += r.series.default_payments[k];
    f += r.series.fallback_payments[k];
  }
  if (d != parts.whole_default || f != parts.whole_fallback)
    r.notes.push_back("per-second processor rows add up to " + std::to_string(d) + " default / " +
                      std::to_string(f) + " fallback, the whole-run summaries say " +
                      std::to_string(parts.whole_default) + " / " +
                      std::to_string(parts.whole_fallback));
  {
    std::scoped_lock lock(run.mu);
    r.checks = run.check_records;
  }

  r.worker_metrics_url = o.worker_metrics_url;
  if (!o.stack_dir.empty()) {
    for (const char* role : {"worker", "api1", "api2"}) {
      std::string text = report::read_text_file(o.stack_dir + "/config-" + role + ".yaml");
      if (!text.empty()) r.configs.emplace_back(role, text);
    }
    if (r.configs.empty())
      r.notes.push_back("no config-<role>.yaml in " + o.stack_dir +
                        " (a stack from an older "
                        "rinhactl?): the configuration that ran is not recorded");
  }
  if (parts.sampler) r.worker_scrapes_ok = parts.sampler->scrapes_ok();
  if (r.worker_metrics_url.empty())
    r.notes.push_back(
        "worker queue and in-flight not measured: no worker /metrics URL (--stack-dir "
        "or --worker-metrics)");
  else if (r.worker_scrapes_ok == 0)
    r.notes.push_back("worker queue and in-flight not measured: " + r.worker_metrics_url +
                      " never answered");
  r.machine = std::move(parts.machine);
  r.machine.load_after = report::parse_loadavg(report::read_text_file("/proc/loadavg"));
  return r;
}

}  // namespace

int run_load(const LoadOptions& opts) {
  auto profile = make_profile(opts.profile);
  if (!profile) {
    std::fprintf(stderr, "load: unknown --profile '%s' (preview|final|soak)\n",
                 opts.profile.c_str());
    return 2;
  }
  Run run;
  run.opts = opts;
  run.profile = *profile;
  if (!opts.timeline_path.empty()) {
    auto t = load_timeline_file(opts.timeline_path);
    if (!t.is_ok()) {
      std::fprintf(stderr, "load: --timeline %s\n", t.status().message().c_str());
      return 2;
    }
    run.profile = with_timeline(run.profile, *t);
    run.insert = t->insert;
  }
  if (opts.duration_s)
    run.profile = with_duration(run.profile, static_cast<int64_t>(*opts.duration_s * 1000));
  if (opts.vus) run.profile.vus = *opts.vus;
  if (opts.amount) run.profile.amount = *opts.amount;
  if (opts.window_s) run.profile.teardown_window_ms = static_cast<int64_t>(*opts.window_s * 1000);
  if (opts.check_every_ms) run.profile.check_sleep_ms = *opts.check_every_ms;
  if (!opts.timeline) run.profile.stages.clear();
  for (const Stage& s : run.profile.stages)
    if (s.at_ms >= run.profile.duration_ms)
      std::fprintf(stderr, "load: the stage at %.1f s is past the run's %.1f s: not applied\n",
                   s.at_ms / 1000.0, run.profile.duration_ms / 1000.0);
  auto amount = score::Decimal::parse(run.profile.amount);
  if (!amount.is_ok() || run.profile.vus < 1 || run.profile.duration_ms < 1000) {
    std::fprintf(stderr, "load: need --vus >= 1, --duration >= 1 and a decimal --amount\n");
    return 2;
  }

  if (run.opts.worker_metrics_url.empty() && !opts.stack_dir.empty())
    run.opts.worker_metrics_url = env_value(report::read_text_file(opts.stack_dir + "/stack.env"),
                                            "RINHA_WORKER_METRICS_URL");
  const bool recording = !opts.json_out.empty() || !opts.report_out.empty();
  report::MachineRecord machine = report::read_machine();

  if (!backend_reachable(run) || !setup(run)) return 1;
  run.start = SteadyClock::now();
  run.start_wall = run.clock.now_utc();
  report::Sampler sampler(run.opts.worker_metrics_url, run.start);
  if (recording) sampler.start();
  std::fprintf(stderr, "load: profile %s, %d VUs over %.0f s, amount %s, target %s\n",
               run.profile.name.c_str(), run.profile.vus, run.profile.duration_ms / 1000.0,
               amount->to_string().c_str(), opts.target.c_str());

  PaymentsOptions po;
  po.url = opts.target + "/payments";
  po.amount_json = amount->to_string();  // JSON.stringify(19.90) writes 19.9
  po.vus = run.profile.vus;
  po.ramp = run.profile.ramp;
  po.duration_ms = run.profile.duration_ms;
  po.trace_path = opts.trace_path;
  po.realtime = opts.realtime;
  std::atomic<bool> no_stop{false};
  std::thread progress_thread(progress, std::ref(run), isatty(STDERR_FILENO) == 1);
  std::thread checker_thread(checker, std::ref(run));
  std::thread stages_thread(stages, std::ref(run));
  run_payments(po, run.start, run.latency, run.counters, no_stop, &run.posts);
  checker_thread.join();
  stages_thread.join();
  run.stop.store(true);
  progress_thread.join();

  // teardown(): the official window, plus the whole run for the corrected accounting.
  UtcMillis to = run.clock.now_utc();
  UtcMillis from{to.value - run.profile.teardown_window_ms};
  UtcMillis run_from{run.start_wall.value - 1000};
  auto rs = call_parallel(run, {processor_summary_request(opts.default_url, run.token, from, to),
                                processor_summary_request(opts.fallback_url, run.token, from, to),
                                backend_summary_request(opts.target, from, to)});
  auto whole =
      http::http_parallel({processor_summary_request(opts.default_url, run.token, run_from, to),
                           processor_summary_request(opts.fallback_url, run.token, run_from, to),
                           backend_summary_request(opts.target, run_from, to)});
  std::string problem;
  ProcessorSummary pd = processor_summary_or_zero(rs[0], &problem);
  if (!problem.empty()) std::fprintf(stderr, "teardown: default summary: %s\n", problem.c_str());
  ProcessorSummary pf = processor_summary_or_zero(rs[1], &problem);
  if (!problem.empty()) std::fprintf(stderr, "teardown: fallback summary: %s\n", problem.c_str());
  BackendSummary bs = backend_summary_or_zero(rs[2], &problem);
  if (!problem.empty()) std::fprintf(stderr, "teardown: backend summary: %s\n", problem.c_str());
  ProcessorSummary wd = processor_summary_or_zero(whole[0], &problem);
  ProcessorSummary wf = processor_summary_or_zero(whole[1], &problem);
  BackendSummary wb = backend_summary_or_zero(whole[2], &problem);
  sampler.stop();

  std::vector<double> sorted = run.latency.sorted_ms();
  double p99 = percentile(sorted, 0.99);

  score::ScoreInput official;
  if (run.profile.money_from_backend) {
    official.default_totals = totals(bs.default_requests, bs.default_amount, pd.fee);
    official.fallback_totals = totals(bs.fallback_requests, bs.fallback_amount, pf.fee);
  } else {
    official.default_totals = totals(pd.requests, pd.amount, pd.fee);
    official.fallback_totals = totals(pf.requests, pf.amount, pf.fee);
  }
  official.p99_ms = p99;
  official.post_successes = run.counters.ok.load();
  official.post_failures = run.counters.failed.load();
  official.participant = opts.participant;
  official.max_requests = std::to_string(run.profile.vus);
  official.timestamp = format_iso8601(to);
  score::ScoreInput corrected = official;
  corrected.default_totals = totals(wd.requests, wd.amount, wd.fee);
  corrected.fallback_totals = totals(wf.requests, wf.amount, wf.fee);
  {
    std::scoped_lock lock(run.mu);
    official.inconsistencies = run.official_inc;
    corrected.inconsistencies = run.corrected_inc;
  }
  auto off_result = score::compute_score(official);
  auto cor_result = score::compute_score(corrected);

  std::printf("\n%s",
              score::score_table("OFFICIAL accounting (" + official_title(run.profile) + ")",
                                 official, off_result)
                  .c_str());
  std::printf("\n%s",
              score::score_table("WHOLE-RUN accounting (" + std::string(kWholeRunTitle) + ")",
                                 corrected, cor_result)
                  .c_str());
  int checks;
  std::vector<double> summary_ms;  // the backend's summary in each check (part of p99)
  {
    std::scoped_lock lock(run.mu);
    checks = run.checks;
    for (const auto& c : run.check_records)
      if (c.backend_us) summary_ms.push_back(static_cast<double>(*c.backend_us) / 1000.0);
  }
  std::sort(summary_ms.begin(), summary_ms.end());
  std::printf(
      "\nrun: %lld POSTs sent, %lld ok, %lld failed (%lld timeouts); %lld TCP connects; "
      "%d checks; "
      "%zu latency samples (ms: p50 %.3f, p90 %.3f, p99 %.3f, max %.3f); "
      "backend whole-run %lld/%lld\n",
      static_cast<long long>(run.counters.sent.load()),
      static_cast<long long>(run.counters.ok.load()),
      static_cast<long long>(run.counters.failed.load()),
      static_cast<long long>(run.counters.timeouts.load()),
      static_cast<long long>(run.counters.connects.load()), checks, sorted.size(),
      percentile(sorted, 0.5), percentile(sorted, 0.9), p99, sorted.empty() ? 0.0 : sorted.back(),
      static_cast<long long>(wb.default_requests), static_cast<long long>(wb.fallback_requests));
  std::printf("backend summary in the checks: %zu answered (ms: p50 %.3f, p99 %.3f, max %.3f)\n",
              summary_ms.size(), percentile(summary_ms, 0.5), percentile(summary_ms, 0.99),
              summary_ms.empty() ? 0.0 : summary_ms.back());
  const std::string official_json = score::final_results_json(official, off_result);
  std::string record;
  if (recording) {
    // The best a window could earn: every POST sent in it paid through the cheaper processor.
    const int64_t window_from_ms = from.value - run.start_wall.value;
    RecordParts parts;
    parts.accountings = {
        {"official", official_title(run.profile), official, off_result,
         run.posts.sent_since(window_from_ms), *amount},
        {"whole_run", kWholeRunTitle, corrected, cor_result, run.posts.sent_since(0), *amount}};
    parts.sorted_latency = std::move(sorted);
    parts.finished = to;
    parts.machine = std::move(machine);
    parts.sampler = &sampler;
    parts.whole_default = wd.requests;
    parts.whole_fallback = wf.requests;
    record = report::record_json(build_record(run, std::move(parts)));
  }
  // The token goes back only now: the per-second summaries above still need the run's token.
  set_insert(run, true);  // a failure is printed; the score stands
  if (opts.rotate_token) set_token(run, run.token, opts.token, false);
  int rc = run.counters.sent.load() > 0 ? 0 : 1;
  if (!opts.json_out.empty()) {
    auto text = report::embed_record(official_json, record);
    std::ofstream out(opts.json_out);
    out << (text.is_ok() ? *text : official_json);
    if (!out) {
      std::fprintf(stderr, "load: cannot write %s\n", opts.json_out.c_str());
      rc = 1;
    }
  }
  if (!opts.report_out.empty()) {
    Status s =
        report::write_report(opts.report_out, "rinha run report: " + run.profile.name, {record});
    if (s.is_ok()) {
      std::printf("report: %s\n", opts.report_out.c_str());
    } else {
      std::fprintf(stderr, "load: report: %s\n", s.message().c_str());
      rc = 1;
    }
  }
  return rc;
}

}  // namespace rinha::loadgen
