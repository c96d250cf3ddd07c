// rinhactl load / summary / purge / health: flags to LoadOptions or to one HTTP call, printed as
// a short table or, with --json, as the body received. Exit 0 on a 2xx answer, 1 otherwise.
#include "instrument/loadgen/command.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "instrument/http/http_client.hpp"
#include "instrument/loadgen/load.hpp"
#include "instrument/loadgen/summaries.hpp"
#include "instrument/stack/cgroup.hpp"
#include "instrument/stack/stack.hpp"

namespace rinha::loadgen {
namespace {

struct OpsOptions {
  std::string target = "http://127.0.0.1:9999";
  std::string processor;  // when set, the processor's admin/public endpoint instead
  std::string token = "123";
  std::string from, to;
  bool json = false;
};

std::optional<UtcMillis> bound(const std::string& text, const char* flag) {
  if (text.empty()) return std::nullopt;
  auto t = parse_iso8601(text);
  if (!t.is_ok()) throw CLI::ValidationError(flag, t.status().message());
  return UtcMillis{t->value / 1000};
}

// Prints the transport error or non-2xx status; true when the answer was 2xx.
bool report(const Result<http::HttpResponse>& r, const std::string& what) {
  if (!r.is_ok()) {
    std::fprintf(stderr, "%s: %s\n", what.c_str(), r.status().message().c_str());
    return false;
  }
  if (r->status < 200 || r->status >= 300) {
    std::fprintf(stderr, "%s: HTTP %ld %s\n", what.c_str(), r->status, r->body.c_str());
    return false;
  }
  return true;
}

int summary(const OpsOptions& o) {
  auto from = bound(o.from, "--from");
  auto to = bound(o.to, "--to");
  bool proc = !o.processor.empty();
  http::HttpRequest req = proc ? processor_summary_request(o.processor, o.token, from, to)
                               : backend_summary_request(o.target, from, to);
  auto r = http::http_send(req);
  if (!report(r, req.url)) return 1;
  if (o.json) {
    std::printf("%s\n", r->body.c_str());
    return 0;
  }
  if (proc) {
    auto s = parse_processor_summary(r->body);
    if (!s.is_ok()) return std::fprintf(stderr, "bad body: %s\n", r->body.c_str()), 1;
    std::printf("%-10s %10s %16s %16s %8s\n", "processor", "requests", "amount", "fee", "rate");
    std::printf("%-10s %10lld %16s %16s %8s\n", "total", static_cast<long long>(s->requests),
                s->amount.to_string().c_str(), (s->amount * s->fee).to_string().c_str(),
                s->fee.to_string().c_str());
    return 0;
  }
  auto s = parse_backend_summary(r->body);
  if (!s.is_ok()) return std::fprintf(stderr, "bad body: %s\n", r->body.c_str()), 1;
  std::printf("%-10s %10s %16s\n", "processor", "requests", "amount");
  std::printf("%-10s %10lld %16s\n", "default", static_cast<long long>(s->default_requests),
              s->default_amount.to_string().c_str());
  std::printf("%-10s %10lld %16s\n", "fallback", static_cast<long long>(s->fallback_requests),
              s->fallback_amount.to_string().c_str());
  return 0;
}

int purge(const OpsOptions& o) {
  http::HttpRequest req;
  req.method = "POST";
  if (o.processor.empty()) {
    req.url = o.target + "/purge-payments";
  } else {
    req.url = o.processor + "/admin/purge-payments";
    req.headers.emplace_back("X-Rinha-Token", o.token);
  }
  auto r = http::http_send(req);
  if (!report(r, req.url)) return 1;
  std::printf("purged (HTTP %ld) %s\n", r->status, r->body.c_str());
  return 0;
}

int health(const OpsOptions& o) {
  http::HttpRequest req;
  req.url = o.processor + "/payments/service-health";
  req.timeout = std::chrono::milliseconds(20000);  // queued calls wait for a later window
  auto r = http::http_send(req);
  if (r.is_ok() && r->status == 429) {
    std::fprintf(stderr,
                 "%s: 429 rate limited (1 call per window, shared by all callers; "
                 "Retry-After: %s)\n",
                 req.url.c_str(), r->header("retry-after").c_str());
    return 1;
  }
  if (!report(r, req.url)) return 1;
  std::printf("%s (%.1f ms)\n", r->body.c_str(), r->duration.count() / 1000.0);
  return 0;
}

}  // namespace

void add_load_command(CLI::App& app) {
  auto o = std::make_shared<LoadOptions>();
  auto vus = std::make_shared<int>(0);
  auto duration = std::make_shared<double>(0);
  auto amount = std::make_shared<std::string>();
  auto window = std::make_shared<double>(0);
  auto no_timeline = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("load", "run the official test shape and score it");
  cmd->add_option("--target", o->target, "backend base URL")->capture_default_str();
  cmd->add_option("--default-url", o->default_url, "default processor URL")->capture_default_str();
  cmd->add_option("--fallback-url", o->fallback_url, "fallback processor URL")
      ->capture_default_str();
  cmd->add_option("--token", o->token, "processors' current X-Rinha-Token")->capture_default_str();
  cmd->add_option("--profile", o->profile,
                  "preview (rinha.js) | final (rinha-final.js) | soak (constant 600 VUs, 60 min)")
      ->check(CLI::IsMember({"preview", "final", "soak"}))
      ->capture_default_str();
  cmd->add_option("--vus", *vus, "MAX_REQUESTS (default: the profile's)");
  cmd->add_option("--duration", *duration, "seconds; the timeline scales along");
  cmd->add_option("--amount", *amount, "payment amount (default: the profile's)");
  cmd->add_option("--window", *window, "teardown window in seconds (default 70)");
  cmd->add_option("--check-every-ms", o->check_every_ms,
                  "pause after each consistency check (the official checker: 10000); denser "
                  "checks catch a short disagreement the official rhythm can miss")
      ->check(CLI::Range(50, 60000));
  cmd->add_option("--json", o->json_out, "write final-results.json (official accounting) here");
  cmd->add_option("--participant", o->participant, "name in the JSON")->capture_default_str();
  cmd->add_option("--trace", o->trace_path, "write 't_us duration_us connect_us status' per POST");
  cmd->add_option("--report", o->report_out,
                  "write the run report here: one self-contained HTML page (score, per-second "
                  "charts, checks, configuration, machine)");
  cmd->add_option("--stack-dir", o->stack_dir,
                  "run dir of `rinhactl stack up`: the worker's /metrics and the configuration "
                  "that ran go into the report; with `stack up --limits`, each service's peak "
                  "memory / limit, CPU throttling and OOM kills follow the score");
  cmd->add_option("--worker-metrics", o->worker_metrics_url,
                  "worker's /metrics URL, scraped each second for the report");
  cmd->add_option("--label", o->label, "the run's name in reports (default: --participant)");
  cmd->add_flag("--realtime", o->realtime,
                "SCHED_FIFO for the payments thread: keeps the tool's own scheduling delays out "
                "of p99 on shared cores (needs root)");
  auto* no_tl =
      cmd->add_flag("--no-timeline", *no_timeline, "leave the processors' delay/failure alone");
  cmd->add_option("--timeline", o->timeline_path,
                  "a timeline file (YAML: stage times, per-processor delay and failure, the "
                  "emulator's insert time; see src/instrument/loadgen/timeline.hpp) instead of "
                  "the profile's; VUs, amount and checks stay the profile's")
      ->check(CLI::ExistingFile)
      ->excludes(no_tl);
  cmd->add_flag("--rotate-token", o->rotate_token,
                "set a fresh token in setup (as the runner does); restored at the end");
  cmd->callback([o, vus, duration, amount, window, no_timeline] {
    if (*vus > 0) o->vus = *vus;
    if (*duration > 0) o->duration_s = *duration;
    if (!amount->empty()) o->amount = *amount;
    if (*window > 0) o->window_s = *window;
    o->timeline = !*no_timeline;
    const int rc = run_load(*o);
    // A stack started with --limits: each service's cgroup usage after the score.
    if (!o->stack_dir.empty()) {
      auto entries = stack::read_pids_file(o->stack_dir);
      std::vector<std::pair<std::string, pid_t>> processes;
      if (entries.is_ok())
        for (const auto& e : *entries) processes.emplace_back(e.name, e.pid);
      const std::string table = stack::usage_table(processes);
      if (!table.empty())
        std::printf("\nper service, under the compose limits:\n%s", table.c_str());
    }
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

void add_ops_commands(CLI::App& app) {
  auto o = std::make_shared<OpsOptions>();
  CLI::App* s = app.add_subcommand("summary", "payments summary of the backend or a processor");
  s->add_option("--target", o->target, "backend base URL")->capture_default_str();
  s->add_option("--processor", o->processor, "processor base URL (admin summary)");
  s->add_option("--token", o->token, "processor X-Rinha-Token")->capture_default_str();
  s->add_option("--from", o->from, "ISO-8601 lower bound (inclusive)");
  s->add_option("--to", o->to, "ISO-8601 upper bound (inclusive)");
  s->add_flag("--json", o->json, "print the body as received");
  s->callback([o] {
    if (const int rc = summary(*o); rc != 0) throw CLI::RuntimeError(rc);
  });

  CLI::App* p = app.add_subcommand("purge", "delete all payments of the backend or a processor");
  p->add_option("--target", o->target, "backend base URL")->capture_default_str();
  p->add_option("--processor", o->processor, "processor base URL (admin purge)");
  p->add_option("--token", o->token, "processor X-Rinha-Token")->capture_default_str();
  p->callback([o] {
    if (const int rc = purge(*o); rc != 0) throw CLI::RuntimeError(rc);
  });

  CLI::App* h = app.add_subcommand("health", "a processor's service-health (rate limited)");
  h->add_option("--processor", o->processor, "processor base URL")->required();
  h->callback([o] {
    if (const int rc = health(*o); rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace rinha::loadgen
