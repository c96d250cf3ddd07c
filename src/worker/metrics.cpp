// Worker /metrics: Prometheus text from Stats and WriterStats, and a one-thread Pistache server.
// Config key: worker.metrics_listen (through the caller).
#include "worker/metrics.hpp"

#include <pistache/endpoint.h>
#include <pistache/router.h>

#include "net/address.hpp"

namespace rinha::worker {
namespace {

using namespace Pistache;
const char* const kProcessors[2] = {"default", "fallback"};

class Text {
 public:
  void type(const std::string& name, const char* type) {
    out_ += "# TYPE " + name + " " + type + "\n";
  }
  void value(const std::string& name, const std::string& labels, int64_t v) {
    out_ += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(v) + "\n";
  }
  void seconds(const std::string& name, const std::string& labels, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", v);
    out_ += name + (labels.empty() ? "" : "{" + labels + "}") + " " + buf + "\n";
  }
  void counter(const std::string& name, int64_t v) {
    type(name, "counter");
    value(name, "", v);
  }
  // One series per processor.
  void per_processor(const std::string& name, const std::array<Stats::Counter, 2>& a,
                     const std::string& extra = "") {
    for (int i = 0; i < 2; ++i)
      value(name, std::string("processor=\"") + kProcessors[i] + "\"" + extra, a[i].load());
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string render_ledger_metrics(const LedgerGauges& g) {
  Text t;
  const std::pair<const char*, int64_t> gauges[] = {
      {"rinha_worker_ledger_payments", g.payments},
      {"rinha_worker_ledger_detail_entries", static_cast<int64_t>(g.detail)},
      {"rinha_worker_ledger_buckets", static_cast<int64_t>(g.buckets)},
      {"rinha_worker_ledger_arbiter_pending", static_cast<int64_t>(g.arbiter)}};
  for (const auto& [name, v] : gauges) {
    t.type(name, "gauge");
    t.value(name, "", v);
  }
  return t.take();
}

std::string render_metrics(const Stats& s, const ledger::WriterStats& w, size_t ledger_pending) {
  Text t;
  t.counter("rinha_worker_payments_accepted_total", s.accepted.load());
  t.counter("rinha_worker_duplicates_ignored_total", s.duplicates_ignored.load());
  t.type("rinha_worker_processor_sent_total", "counter");
  t.per_processor("rinha_worker_processor_sent_total", s.sent);
  t.type("rinha_worker_processor_probes_total", "counter");
  t.per_processor("rinha_worker_processor_probes_total", s.probes);
  t.type("rinha_worker_processor_outcomes_total", "counter");
  const std::pair<const char*, const std::array<Stats::Counter, 2>*> outcomes[] = {
      {"confirmed", &s.confirmed},           {"duplicate_422", &s.duplicate_422},
      {"server_error", &s.server_errors},    {"unknown", &s.unknown},
      {"connect_failed", &s.connect_failed}, {"too_many_requests", &s.too_many}};
  for (const auto& [label, arr] : outcomes)
    t.per_processor("rinha_worker_processor_outcomes_total", *arr,
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
  t.counter("rinha_worker_purges_total", s.purges.load());

  t.type("rinha_worker_backlog", "gauge");
  t.value("rinha_worker_backlog", "", s.backlog.load());
  t.type("rinha_worker_in_flight", "gauge");
  t.per_processor("rinha_worker_in_flight", s.in_flight);

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
  t.type("rinha_worker_ledger_pending_rows", "gauge");
  t.value("rinha_worker_ledger_pending_rows", "", static_cast<int64_t>(ledger_pending));
  return t.take();
}

struct MetricsServer::Impl {
  std::string listen;
  Render render;
  std::unique_ptr<Http::Endpoint> endpoint;
  Rest::Router router;

  void get_metrics(const Rest::Request&, Http::ResponseWriter w) {
    w.headers().remove<Http::Header::Connection>();  // keep-alive by default (see README)
    w.send(Http::Code::Ok, render(), MIME(Text, Plain));
  }
  void not_found(const Rest::Request&, Http::ResponseWriter w) {
    w.headers().remove<Http::Header::Connection>();
    w.send(Http::Code::Not_Found, "{\"error\":\"no such endpoint\"}", MIME(Application, Json));
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
