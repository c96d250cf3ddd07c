// Pistache routes of the api role: POST /payments, GET /payments-summary, POST /purge-payments,
// GET /healthcheck, GET /metrics. Reads config: api.listen, api.threads, api.max_request_bytes,
// api.purge_token, worker.listen, handoff.batch_max, handoff.reply_timeout_ms,
// handoff.linger_us, handoff.durability, cluster.peers.
#include "api/server.hpp"

#include <pistache/endpoint.h>
#include <pistache/peer.h>
#include <pistache/router.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <optional>
#include <string_view>

#include "api/fan_out.hpp"
#include "api/request_parser.hpp"
#include "handoff/client.hpp"
#include "handoff/journal.hpp"
#include "net/address.hpp"
#include "net/pistache_reply.hpp"
#include "net/prometheus_text.hpp"
#include "net/signals.hpp"

namespace rinha::api {

using namespace Pistache;

namespace {

// Every answer of the api is JSON (or empty) except /metrics.
void send(Http::ResponseWriter& w, bool keep_alive, Http::Code code, const std::string& body = {}) {
  net::reply(w, code, body, net::BodyType::kJson, keep_alive);
}

// Compares every byte whatever the first difference, so the answer time tells nothing about
// how much of a guessed token was right.
bool same_secret(const std::string& given, const std::string& secret) {
  unsigned char diff = given.size() == secret.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ secret[i % secret.size()]);
  return diff == 0;
}

// The 202 of an accepted payment, written straight to the client's socket. Through
// ResponseWriter::send, Pistache 0.0.5 queues every response through an eventfd (one write, three
// reads) and arms then disarms EPOLLOUT around its send (two epoll_ctl): six syscalls more per
// payment than this one send(2), and on this guest syscalls are the api's main cost. The answer
// is always these bytes (what Pistache writes for it, without the Connection header, as
// net::reply). Falls back to Pistache when nothing could be written (the socket would block)
// or the client is not HTTP/1.1 keep-alive. Only valid from the reactor thread, right after
// the request: a response queued earlier for this connection would otherwise be overtaken.
// Returns false when the answer went to Pistache's queue (flush it).
bool send_accepted(Http::ResponseWriter& w, bool keep_alive, Http::Version version) {
  static constexpr std::string_view k202 = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
  auto peer = w.getPeer();
  if (keep_alive && version == Http::Version::Http11 && peer) {
    ssize_t n = ::send(peer->fd(), k202.data(), k202.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(k202.size())) return true;
    if (n > 0) {  // the rest through Pistache's queue, which waits for the socket
      const auto rest = static_cast<size_t>(n);
      peer->send(RawBuffer(std::string(k202.substr(rest)), k202.size() - rest));
      return false;
    }
  }
  send(w, keep_alive, Http::Code::Accepted);
  return false;
}

using net::wants_keep_alive;

class SummaryCompletion final : public handoff::SummaryCompletion {
 public:
  SummaryCompletion(Http::ResponseWriter w, bool keep_alive, ApiStats& stats)
      : w_(std::move(w)), keep_alive_(keep_alive), stats_(stats) {}
  void done(Result<summary::SummaryTotals> r) override {
    if (r.is_ok()) {
      stats_.summaries_ok++;
      send(w_, keep_alive_, Http::Code::Ok, summary::to_json(*r));
    } else {
      stats_.summaries_failed++;
      send(w_, keep_alive_, Http::Code::Service_Unavailable,
           error_json("summary unavailable: " + r.status().message()));
    }
    delete this;
  }

 private:
  Http::ResponseWriter w_;
  bool keep_alive_;
  ApiStats& stats_;
};

class PurgeCompletion final : public handoff::Completion {
 public:
  PurgeCompletion(Http::ResponseWriter w, bool keep_alive)
      : w_(std::move(w)), keep_alive_(keep_alive) {}
  void done(Status s) override {
    if (s.is_ok()) {
      send(w_, keep_alive_, Http::Code::Ok, "{\"message\":\"All payments purged.\"}");
    } else {
      send(w_, keep_alive_, Http::Code::Service_Unavailable,
           error_json("purge failed: " + s.message()));
    }
    delete this;
  }

 private:
  Http::ResponseWriter w_;
  bool keep_alive_;
};

Result<Address> parse_listen(const std::string& listen) {
  if (listen.rfind("unix:", 0) == 0)
    return Status::invalid_argument("api.listen: Pistache serves TCP only; use host:port");
  auto hp = net::parse_host_port(listen);
  if (!hp.is_ok()) return Status::invalid_argument("api.listen: " + hp.status().message());
  try {
    return Address(hp->host, Port(hp->port));
  } catch (const std::exception& e) {
    return Status::invalid_argument("api.listen: " + std::string(e.what()));
  }
}

}  // namespace

// DURABILITY. POST /payments answers 202 once the payment is in this api's own journal
// (handoff.durability process: one write(2); machine: plus fdatasync), before the hand-off to
// the worker: the hand-off client then owns it and retries until the worker acks (the worker
// journals it before acking), and only then is it marked settled here. A crash of this api
// after its 202 leaves the payment in its journal, handed off again at the next start; the
// worker ignores ids it already has, so a payment is never processed twice. Answering from
// the local journal keeps the worker's round trip (three thread wake-ups) off the p99.
// With durability none the 202 follows the in-memory hand-off queue only.
struct ApiServer::Impl {
  const ApiConfig cfg;
  const Clock& clock;
  ApiStats stats;
  std::unique_ptr<handoff::Journal> journal;  // null with durability none
  handoff::Client client;
  // cluster.peers: one connection per other node's worker, for summaries and purges only.
  std::vector<std::unique_ptr<handoff::Client>> peers;
  std::unique_ptr<Http::Endpoint> endpoint;
  Rest::Router router;

  Impl(const ApiConfig& c, const Clock& clk)
      : cfg(c),
        clock(clk),
        client(handoff::ClientOptions{
            c.worker_listen, c.handoff.batch_max, c.handoff.reply_timeout_ms,
            [this](const std::vector<Uuid>& ids) { on_delivered(ids); }, c.handoff.linger_us}) {
    for (const auto& address : c.peer_workers)
      peers.push_back(std::make_unique<handoff::Client>(
          handoff::ClientOptions{address, c.handoff.batch_max, c.handoff.reply_timeout_ms, {}, 0}));
  }

  void on_delivered(const std::vector<Uuid>& ids) {
    if (!journal) return;
    Status s = journal->append_settled(ids);
    if (!s.is_ok())
      spdlog::warn("api journal: {} (the payments will be handed off again at restart)",
                   s.message());
  }

  struct PostOutcome {
    std::optional<handoff::AcceptedPayment> payment;  // to hand off, once its 202 is on the wire
    bool queued = true;  // the answer waits in Pistache's queue (not written directly)
  };
  // Answers POST /payments.
  PostOutcome accept_payment(const Http::Request& req, Http::ResponseWriter w) {
    bool ka = wants_keep_alive(req);
    auto ct = req.headers().tryGet<Http::Header::ContentType>();
    if (ct && ct->mime() != MIME(Application, Json)) {
      stats.payments_rejected++;
      send(w, ka, Http::Code::Unsupported_Media_Type,
           error_json("Content-Type must be application/json"));
      return {};
    }
    auto parsed = parse_payment(req.body());
    if (!parsed.is_ok()) {
      stats.payments_rejected++;
      auto code = parsed.status().code() == Status::Code::kMalformed
                      ? Http::Code::Bad_Request
                      : Http::Code::Unprocessable_Entity;
      send(w, ka, code, error_json(parsed.status().message()));
      return {};
    }
    handoff::AcceptedPayment p{parsed->id, parsed->amount, clock.now_utc()};
    if (journal) {
      Status s = journal->append_accepted({p});
      if (!s.is_ok()) {
        stats.payments_unavailable++;
        send(w, ka, Http::Code::Service_Unavailable,
             error_json("payment not accepted: " + s.message()));
        return {};
      }
    }
    stats.payments_accepted++;
    bool direct = send_accepted(w, ka, req.version());
    return {p, !direct};
  }

  // Through the router: paths HttpHandler does not take itself (e.g. "/payments/").
  void post_payments(const Rest::Request& req, Http::ResponseWriter w) {
    if (auto p = accept_payment(req, std::move(w)).payment) client.deliver(*p);
  }

  void get_summary(const Rest::Request& req, Http::ResponseWriter w) {
    const SteadyTime asked_at = std::chrono::steady_clock::now();
    bool ka = wants_keep_alive(req);
    auto window = parse_summary_query(req.query().get("from"), req.query().get("to"));
    if (!window.is_ok()) {
      stats.summaries_failed++;
      return send(w, ka, Http::Code::Bad_Request, error_json(window.status().message()));
    }
    auto* answer = new SummaryCompletion(std::move(w), ka, stats);
    if (peers.empty()) return client.summarize(*window, answer, asked_at);
    // The cluster's books: every worker's part at once, summed (api/fan_out.hpp).
    auto parts = summary_fan_out(1 + peers.size(),
                                 [answer](Result<summary::SummaryTotals> r) { answer->done(r); });
    client.summarize(*window, parts[0], asked_at);
    // Another node's steady clock is not ours: its worker answers as of the frame's arrival.
    for (size_t i = 0; i < peers.size(); ++i) peers[i]->summarize(*window, parts[i + 1]);
  }

  void post_purge(const Rest::Request& req, Http::ResponseWriter w) {
    const std::string& token = cfg.api.purge_token;
    if (!token.empty()) {
      auto given = req.headers().tryGetRaw("X-Rinha-Token");
      if (!given || !same_secret(given->value(), token))
        return send(w, wants_keep_alive(req), Http::Code::Unauthorized,
                    error_json("purge needs the X-Rinha-Token header (api.purge_token)"));
    }
    stats.purges++;
    auto* answer = new PurgeCompletion(std::move(w), wants_keep_alive(req));
    if (peers.empty()) return client.purge(answer);
    auto parts = purge_fan_out(1 + peers.size(), [answer](Status s) { answer->done(s); });
    client.purge(parts[0]);
    for (size_t i = 0; i < peers.size(); ++i) peers[i]->purge(parts[i + 1]);
  }

  void get_health(const Rest::Request& req, Http::ResponseWriter w) {
    send(w, wants_keep_alive(req), Http::Code::No_Content);
  }

  void get_metrics(const Rest::Request& req, Http::ResponseWriter w) {
    net::PrometheusText t;
    t.type("rinha_api_payments_total", "counter");
    t.value("rinha_api_payments_total", "outcome=\"accepted\"", stats.payments_accepted.load());
    t.value("rinha_api_payments_total", "outcome=\"rejected\"", stats.payments_rejected.load());
    t.value("rinha_api_payments_total", "outcome=\"unavailable\"",
            stats.payments_unavailable.load());
    t.type("rinha_api_summaries_total", "counter");
    t.value("rinha_api_summaries_total", "outcome=\"ok\"", stats.summaries_ok.load());
    t.value("rinha_api_summaries_total", "outcome=\"failed\"", stats.summaries_failed.load());
    t.type("rinha_api_purges_total", "counter");
    t.value("rinha_api_purges_total", "", stats.purges.load());
    net::reply(w, Http::Code::Ok, t.take(), net::BodyType::kText, wants_keep_alive(req));
  }

  // Pistache's own 405 is plain text; known paths answer wrong methods here, in JSON.
  void method_not_allowed(const Rest::Request& req, Http::ResponseWriter w) {
    bool get_only = req.resource() == "/payments-summary" || req.resource() == "/healthcheck" ||
                    req.resource() == "/metrics";
    std::string allow = get_only ? "GET" : "POST";
    w.headers().add<Http::Header::Allow>(get_only ? Http::Method::Get : Http::Method::Post);
    send(w, wants_keep_alive(req), Http::Code::Method_Not_Allowed,
         error_json("method not allowed; use " + allow));
  }

  void not_found(const Rest::Request& req, Http::ResponseWriter w) {
    send(w, wants_keep_alive(req), Http::Code::Not_Found, error_json("no such endpoint"));
  }

  class HttpHandler;
};

// The handler of every Pistache reactor thread (Pistache clones it per thread). Pistache 0.0.5
// queues each response through an eventfd and writes it on a later turn of the reactor
// (epoll_ctl to ask for EPOLLOUT, another epoll_wait, the send, epoll_ctl again); flushing the
// transport before returning puts it on the wire at once, from this thread. POST /payments, the
// hot path, skips the router, and its payment is handed off only after the flush, so the
// hand-off thread's wake-up (same core) cannot come between the journal append and the 202.
class ApiServer::Impl::HttpHandler final : public Http::Handler {
 public:
  HTTP_PROTOTYPE(HttpHandler)
  explicit HttpHandler(Impl& impl) : impl_(impl) {}

  void onRequest(const Http::Request& req, Http::ResponseWriter w) override {
    if (req.method() == Http::Method::Post && req.resource() == "/payments") {
      auto out = impl_.accept_payment(req, std::move(w));
      if (out.queued) transport()->flush();
      if (out.payment) impl_.client.deliver(*out.payment);
      return;
    }
    impl_.router.route(req, std::move(w));
    transport()->flush();
  }

  void onDisconnection(const std::shared_ptr<Tcp::Peer>& peer) override {
    impl_.router.disconnectPeer(peer);
  }

 private:
  Impl& impl_;
};

ApiConfig api_config(const config::Config& cfg) {
  auto peers = config::peer_list(cfg.cluster.peers);  // validate() has checked it
  return ApiConfig{cfg.api, cfg.handoff, cfg.worker.listen,
                   peers.is_ok() ? *peers : std::vector<std::string>{}};
}

ApiServer::ApiServer(const ApiConfig& cfg, const Clock& clock)
    : impl_(std::make_unique<Impl>(cfg, clock)) {}

ApiServer::~ApiServer() { stop(); }

Status ApiServer::start() {
  auto addr = parse_listen(impl_->cfg.api.listen);
  if (!addr.is_ok()) return addr.status();
  if (impl_->cfg.handoff.durability != Durability::kNone) {
    auto j = handoff::Journal::open(impl_->cfg.api.journal_path, impl_->cfg.handoff.durability);
    if (!j.is_ok()) return j.status();
    impl_->journal = std::move(j).value();
  }
  Status s = impl_->client.start();
  if (!s.is_ok()) return s;
  for (auto& p : impl_->peers) {
    s = p->start();
    if (!s.is_ok()) return s;
  }
  if (impl_->journal) {
    // Answered 2xx by an earlier run of this api and never acked by the worker.
    auto pending = impl_->journal->unsettled();
    if (!pending.empty())
      spdlog::info("api journal: handing off {} payments from before the restart", pending.size());
    for (const auto& p : pending) impl_->client.deliver(p);
  }
  using namespace Rest;
  auto* i = impl_.get();
  Routes::Post(i->router, "/payments", Routes::bind(&Impl::post_payments, i));
  Routes::Get(i->router, "/payments-summary", Routes::bind(&Impl::get_summary, i));
  Routes::Post(i->router, "/purge-payments", Routes::bind(&Impl::post_purge, i));
  Routes::Get(i->router, "/healthcheck", Routes::bind(&Impl::get_health, i));
  Routes::Get(i->router, "/metrics", Routes::bind(&Impl::get_metrics, i));
  Routes::NotFound(i->router, Routes::bind(&Impl::not_found, i));
  auto wrong = Routes::bind(&Impl::method_not_allowed, i);
  for (const char* path : {"/payments", "/purge-payments"}) {
    Routes::Get(i->router, path, wrong);
    Routes::Put(i->router, path, wrong);
    Routes::Delete(i->router, path, wrong);
    Routes::Patch(i->router, path, wrong);
  }
  for (const char* path : {"/payments-summary", "/healthcheck", "/metrics"}) {
    Routes::Post(i->router, path, wrong);
    Routes::Put(i->router, path, wrong);
    Routes::Delete(i->router, path, wrong);
    Routes::Patch(i->router, path, wrong);
  }
  try {
    i->endpoint = std::make_unique<Http::Endpoint>(*addr);
    auto opts = Http::Endpoint::options()
                    .threads(i->cfg.api.threads)
                    .flags(Tcp::Options::ReuseAddr | Tcp::Options::NoDelay)
                    .maxRequestSize(static_cast<size_t>(i->cfg.api.max_request_bytes))
                    .backlog(1024);
    i->endpoint->init(opts);
    i->endpoint->setHandler(Http::make_handler<Impl::HttpHandler>(*i));
    i->endpoint->serveThreaded();
  } catch (const std::exception& e) {
    return Status::io_error("api.listen " + i->cfg.api.listen + ": " + e.what());
  }
  return Status::ok();
}

void ApiServer::stop() {
  if (!impl_) return;
  if (impl_->endpoint) {
    impl_->endpoint->shutdown();
    impl_->endpoint.reset();
  }
  impl_->client.stop();
  for (auto& p : impl_->peers) p->stop();
}

uint16_t ApiServer::port() const {
  return impl_->endpoint ? static_cast<uint16_t>(impl_->endpoint->getPort()) : 0;
}

const ApiStats& ApiServer::stats() const { return impl_->stats; }

int run(const config::Config& cfg) {
  // Before Pistache starts its threads, so they inherit the blocked mask.
  const net::TerminationSignals signals;
  SystemClock clock;
  ApiServer server(api_config(cfg), clock);
  Status s = server.start();
  if (!s.is_ok()) {
    spdlog::error("api: {}", s.message());
    return 1;
  }
  spdlog::info("rinhad api: listening on {} (port {}), {} threads, worker {}, durability {}",
               cfg.api.listen, server.port(), cfg.api.threads, cfg.worker.listen,
               durability_name(cfg.handoff.durability));
  const int sig = signals.wait();
  spdlog::info("rinhad api: signal {}, stopping", sig);
  server.stop();
  return 0;
}

}  // namespace rinha::api
