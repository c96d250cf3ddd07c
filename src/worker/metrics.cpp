// Worker /metrics: Prometheus text from Stats and WriterStats, and a one-thread Pistache server.
// Config key: worker.metrics_listen (through the caller).
#include "worker/metrics.hpp"

#include <pistache/endpoint.h>
#include <pistache/router.h>

#include "net/address.hpp"
#include "net/pistache_reply.hpp"
#include "net/prometheus_text.hpp"

namespace rinha::worker {
namespace {

using namespace Pistache;
const char* const kProcessors[2] = {"default", "fallback"};

// One series per processor, labelled processor="default|fallback" plus `extra`.
void per_processor(net::PrometheusText& t, std::string_view name,
                   const std::array<Stats::Counter, 2>& a, std::string_view extra = "") {
  for (int i = 0; i < 2; ++i)
    t.value(name, std::string("processor=\"") + kProcessors[i] + "\"" + std::string(extra),
            a[i].load());
}

}  // namespace

std::string render_ledger_metrics(const LedgerGauges& g) {
  net::PrometheusText t;
  t.gauge("rinha_worker_ledger_payments", g.payments);
  t.gauge("rinha_worker_ledger_detail_entries", static_cast<int64_t>(g.detail));
  t.gauge("rinha_worker_ledger_buckets", static_cast<int64_t>(g.buckets));
  t.gauge("rinha_worker_ledger_arbiter_pending", static_cast<int64_t>(g.arbiter));
  t.gauge("rinha_worker_heap_in_use_bytes", static_cast<int64_t>(g.heap_in_use));
  t.gauge("rinha_worker_heap_held_bytes", static_cast<int64_t>(g.heap_held));
  return t.take();
}

std::string render_metrics(const Stats& s, const ledger::WriterStats& w, size_t ledger_pending) {
  net::PrometheusText t;
  t.counter("rinha_worker_payments_accepted_total", s.accepted.load());
  t.counter("rinha_worker_duplicates_ignored_total", s.duplicates_ignored.load());
  t.counter("rinha_worker_old_duplicates_total", s.old_duplicates.load());
  t.counter("rinha_worker_old_unchecked_total", s.old_unchecked.load());
  t.counter("rinha_worker_claimed_elsewhere_total", s.claimed_elsewhere.load());
  t.counter("rinha_worker_claim_statements_total", s.claim_statements.load());
  t.counter("rinha_worker_claim_failures_total", s.claim_failures.load());
  t.type("rinha_worker_processor_sent_total", "counter");
  per_processor(t, "rinha_worker_processor_sent_total", s.sent);
  t.type("rinha_worker_processor_probes_total", "counter");
  per_processor(t, "rinha_worker_processor_probes_total", s.probes);
  t.type("rinha_worker_processor_outcomes_total", "counter");
  const std::pair<const char*, const std::array<Stats::Counter, 2>*> outcomes[] = {
      {"confirmed", &s.confirmed},           {"duplicate_422", &s.duplicate_422},
      {"server_error", &s.server_errors},    {"unknown", &s.unknown},
      {"connect_failed", &s.connect_failed}, {"too_many_requests", &s.too_many}};
  for (const auto& [label, arr] : outcomes)
    per_processor(t, "rinha_worker_processor_outcomes_total", *arr,
                  std::string(",outcome=\"") + label + "\"");
  t.counter("rinha_worker_lookups_total", s.lookups.load());
  t.type("rinha_worker_lookup_results_total", "counter");
  t.value("rinha_worker_lookup_results_total", "result=\"found\"", s.lookup_found.load());
  t.value("rinha_worker_lookup_results_total", "result=\"absent\"", s.lookup_absent.load());
  t.counter("rinha_worker_retries_total", s.retries.load());
  t.counter("rinha_worker_given_up_total", s.given_up.load());
  t.counter("rinha_worker_amount_mismatch_total", s.amount_mismatch.load());
  t.counter("rinha_worker_reconciled_total", s.replayed.load());
  t.counter("rinha_worker_summaries_total", s.summaries.load());
  t.counter("rinha_worker_ambiguous_summaries_total", s.ambiguous_summaries.load());
  t.counter("rinha_worker_ambiguous_payments_total", s.ambiguous_payments.load());
  // Summary-time probes (see dispatcher.cpp PROBES).
  t.counter("rinha_worker_summary_probes_total", s.summary_waits.load());
  t.counter("rinha_worker_summary_probe_expired_total", s.summary_wait_expired.load());
  t.type("rinha_worker_summary_probe_wait_seconds_total", "counter");
  t.seconds("rinha_worker_summary_probe_wait_seconds_total", "", s.summary_wait_us.load() / 1e6);
  t.counter("rinha_worker_summary_probe_payments_total", s.summary_probed.load());
  t.counter("rinha_worker_summary_probe_skipped_total", s.summary_lookup_skipped.load());
  t.counter("rinha_worker_summary_probe_lookups_total", s.summary_lookups.load());
  t.type("rinha_worker_summary_probe_results_total", "counter");
  const std::pair<const char*, const Stats::Counter*> probe_results[] = {
      {"found", &s.summary_lookup_found},
      {"absent", &s.summary_lookup_absent},
      {"timeout", &s.summary_lookup_timeout},
      {"error", &s.summary_lookup_error}};
  for (const auto& [label, c] : probe_results)
    t.value("rinha_worker_summary_probe_results_total", std::string("result=\"") + label + "\"",
            c->load());
  t.counter("rinha_worker_purges_total", s.purges.load());
  // Health calls: ours, and with health.shared on those of the leaders we follow.
  t.type("rinha_worker_health_calls_total", "counter");
  per_processor(t, "rinha_worker_health_calls_total", s.health_calls);
  t.type("rinha_worker_health_shared_answers_total", "counter");
  per_processor(t, "rinha_worker_health_shared_answers_total", s.health_shared_in);

  t.gauge("rinha_worker_backlog", s.backlog.load());
  t.type("rinha_worker_in_flight", "gauge");
  per_processor(t, "rinha_worker_in_flight", s.in_flight);
  t.type("rinha_worker_health_leader", "gauge");
  per_processor(t, "rinha_worker_health_leader", s.health_leader);

  const std::string h = "rinha_worker_processor_latency_seconds";
  t.type(h, "histogram");
  for (int i = 0; i < 2; ++i) {
    const auto& lat = s.latency[i];
    const std::string proc = std::string("processor=\"") + kProcessors[i] + "\"";
    for (size_t b = 0; b < LatencyHistogram::kBoundsMs.size(); ++b) {
      char le[32];
      std::snprintf(le, sizeof le, "%g", LatencyHistogram::kBoundsMs[b] / 1000.0);
      t.value(h + "_bucket", proc + ",le=\"" + le + "\"", lat.buckets[b].load());
    }
    t.value(h + "_bucket", proc + ",le=\"+Inf\"", lat.count.load());
    t.seconds(h + "_sum", proc, lat.sum_us.load() / 1e6);
    t.value(h + "_count", proc, lat.count.load());
  }

  t.counter("rinha_worker_ledger_rows_written_total", w.rows_written.load());
  t.counter("rinha_worker_ledger_store_errors_total", w.store_errors.load());
  t.type("rinha_worker_ledger_flush_seconds", "summary");
  t.seconds("rinha_worker_ledger_flush_seconds_sum", "", w.flush_us.load() / 1e6);
  t.value("rinha_worker_ledger_flush_seconds_count", "", w.batches.load());
  t.gauge("rinha_worker_ledger_pending_rows", static_cast<int64_t>(ledger_pending));
  return t.take();
}

struct MetricsServer::Impl {
  std::string listen;
  Render render;
  std::unique_ptr<Http::Endpoint> endpoint;
  Rest::Router router;

  void get_metrics(const Rest::Request& req, Http::ResponseWriter w) {
    net::reply(w, Http::Code::Ok, render(), net::BodyType::kText, net::wants_keep_alive(req));
  }
  void not_found(const Rest::Request& req, Http::ResponseWriter w) {
    net::reply(w, Http::Code::Not_Found, "{\"error\":\"no such endpoint\"}", net::BodyType::kJson,
               net::wants_keep_alive(req));
  }
};

MetricsServer::MetricsServer(std::string listen, Render render) : impl_(std::make_unique<Impl>()) {
  impl_->listen = std::move(listen);
  impl_->render = std::move(render);
}

MetricsServer::~MetricsServer() { stop(); }

Status MetricsServer::start() {
  auto hp = net::parse_host_port(impl_->listen);
  if (!hp.is_ok() || impl_->listen.rfind("unix:", 0) == 0)
    return Status::invalid_argument("worker.metrics_listen: use host:port, got '" + impl_->listen +
                                    "'");
  try {
    auto* i = impl_.get();
    Rest::Routes::Get(i->router, "/metrics", Rest::Routes::bind(&Impl::get_metrics, i));
    Rest::Routes::NotFound(i->router, Rest::Routes::bind(&Impl::not_found, i));
    i->endpoint = std::make_unique<Http::Endpoint>(Address(hp->host, Port(hp->port)));
    i->endpoint->init(Http::Endpoint::options().threads(1).flags(Tcp::Options::ReuseAddr));
    i->endpoint->setHandler(i->router.handler());
    i->endpoint->serveThreaded();
  } catch (const std::exception& e) {
    impl_->endpoint.reset();
    return Status::io_error("worker.metrics_listen " + impl_->listen + ": " + e.what());
  }
  return Status::ok();
}

void MetricsServer::stop() {
  if (impl_ && impl_->endpoint) {
    impl_->endpoint->shutdown();
    impl_->endpoint.reset();
  }
}

int MetricsServer::port() const {
  return impl_->endpoint ? static_cast<int>(static_cast<uint16_t>(impl_->endpoint->getPort())) : 0;
}

}  // namespace rinha::worker
