// Pistache server of the processor emulator. Reads EmulatorOptions only (flags of
// `rinhactl processor`). Order matters as in the real processor: limiter, then the delay, then
// the failure flag, then the insert (spec §6.2). Does not persist anything: a restart forgets
// payments and settings, like a fresh processor container.
#include "instrument/emulator/emulator.hpp"

#include <pistache/endpoint.h>
#include <pistache/router.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <random>

#include "common/time.hpp"
#include "instrument/emulator/limiters.hpp"
#include "instrument/emulator/payment_store.hpp"
#include "instrument/emulator/request_parse.hpp"
#include "instrument/emulator/timer_queue.hpp"
#include "instrument/score/decimal.hpp"
#include "net/pistache_reply.hpp"

namespace rinha::emulator {

using namespace Pistache;
using Writer = std::shared_ptr<Http::ResponseWriter>;

namespace {

// Always keep-alive, as the official processors behave behind HAProxy (net/pistache_reply.hpp).
void reply(Http::ResponseWriter& w, Http::Code code, const std::string& body = {},
           bool json = true) {
  net::reply(w, code, body, json ? net::BodyType::kJson : net::BodyType::kText);
}

// Pistache 0.0.5 writes only typed headers (addRaw ones are dropped), so Retry-After needs a class.
class RetryAfter : public Http::Header::Header {
 public:
  NAME("Retry-After")
  void parse(const std::string&) override {}
  void write(std::ostream& os) const override { os << 5; }
};

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) out.push_back(c);
  }
  return out;
}

std::string error_json(const std::string& msg) {
  return "{\"message\":\"" + json_escape(msg) + "\"}";
}

}  // namespace

class Emulator::Impl {
 public:
  explicit Impl(EmulatorOptions o)
      : opts_(std::move(o)),
        limiter_(opts_.permits, opts_.queue),
        health_(opts_.health_queue),
        insert_latency_ms_(opts_.insert_latency_ms),
        insert_jitter_ms_(opts_.insert_jitter_ms),
        token_(opts_.token) {}

  Status start() {
    auto fee = score::Decimal::parse(opts_.fee);
    if (!fee.is_ok() || fee->compare(score::Decimal()) < 0)
      return Status::invalid_argument("--fee must be a non-negative decimal, got '" + opts_.fee +
                                      "'");
    fee_ = fee.value();
    timers_ = std::make_unique<TimerQueue>();
    schedule_window(std::chrono::steady_clock::now());
    routes();
    try {
      Address addr(opts_.host, Port(opts_.port));
      endpoint_ = std::make_unique<Http::Endpoint>(addr);
      endpoint_->init(Http::Endpoint::options()
                          .threads(opts_.threads)
                          .flags(Tcp::Options::ReuseAddr)
                          .maxRequestSize(size_t{64} * 1024));
      endpoint_->setHandler(router_.handler());
      endpoint_->serveThreaded();
    } catch (const std::exception& e) {
      endpoint_.reset();
      timers_->shutdown();
      return Status::io_error(std::string("cannot serve on ") + opts_.host + ":" +
                              std::to_string(opts_.port) + ": " + e.what());
    }
    return Status::ok();
  }

  void stop() {
    if (!endpoint_) return;
    timers_->shutdown();  // first: its parked writers must go before the reactor does
    endpoint_->shutdown();
    endpoint_.reset();
  }

  uint16_t port() const { return endpoint_ ? static_cast<uint16_t>(endpoint_->getPort()) : 0; }

 private:
  void routes() {
    using Rest::Routes::bind;
    Rest::Routes::Post(router_, "/payments", bind(&Impl::post_payment, this));
    Rest::Routes::Get(router_, "/payments/service-health", bind(&Impl::get_health, this));
    Rest::Routes::Get(router_, "/payments/:id", bind(&Impl::get_payment, this));
    Rest::Routes::Get(router_, "/admin/payments-summary", bind(&Impl::admin_summary, this));
    Rest::Routes::Put(router_, "/admin/configurations/token", bind(&Impl::admin_token, this));
    Rest::Routes::Put(router_, "/admin/configurations/delay", bind(&Impl::admin_delay, this));
    Rest::Routes::Put(router_, "/admin/configurations/failure", bind(&Impl::admin_failure, this));
    Rest::Routes::Put(router_, "/admin/configurations/insert", bind(&Impl::admin_insert, this));
    Rest::Routes::Post(router_, "/admin/purge-payments", bind(&Impl::admin_purge, this));
    Rest::Routes::Get(router_, "/admin/health-calls", bind(&Impl::admin_health_calls, this));
  }

  // --- limiter-guarded public endpoints -------------------------------------------------

  // Runs `work` under a concurrency permit; `work` must call done() exactly once.
  void guarded(Writer w, std::function<void()> work) {
    switch (limiter_.acquire(work)) {
      case Admit::kNow:
        work();
        break;
      case Admit::kQueued:
        break;
      case Admit::kRejected:
        reply(*w, Http::Code::Too_Many_Requests, "Too many requests", false);
        break;
    }
  }

  // Releases a permit; a queued request it hands over runs on the timer thread, so that a
  // long queue never recurses through release().
  void done() {
    if (Waiter next = limiter_.release()) timers_->post(std::move(next));
  }

  void post_payment(const Rest::Request& req, Http::ResponseWriter writer) {
    auto w = std::make_shared<Http::ResponseWriter>(std::move(writer));
    std::string body = req.body();
    guarded(w, [this, w, body = std::move(body)] {
      auto parsed = parse_payment(body);
      if (!parsed.is_ok()) {
        // Model binding fails before the endpoint filters: no delay for a malformed body.
        reply(*w, Http::Code::Bad_Request, error_json(parsed.status().message()));
        done();
        return;
      }
      int64_t delay = delay_ms_.load();
      if (!failure_.load()) delay += insert_ms();
      auto finish = [this, w, p = parsed.value()] {
        if (failure_.load()) {
          reply(*w, Http::Code::Internal_Server_Error);
        } else if (store_.insert(p.correlation_id, {p.amount, p.requested_at})) {
          if (opts_.commit_pause_ms > 0) {  // committed: counted already, answered later
            timers_->schedule(
                std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.commit_pause_ms),
                [this, w] {
                  reply(*w, Http::Code::Ok, "{\"message\":\"payment processed successfully\"}");
                  done();
                });
            return;
          }
          reply(*w, Http::Code::Ok, "{\"message\":\"payment processed successfully\"}");
        } else {
          reply(*w, Http::Code::Unprocessable_Entity,
                error_json("Could not process the payment: CorrelationId " +
                           format_uuid(p.correlation_id) + " already exists."));
        }
        done();
      };
      if (delay > 0) {
        timers_->schedule(std::chrono::steady_clock::now() + std::chrono::milliseconds(delay),
                          std::move(finish));
      } else {
        finish();
      }
    });
  }

  // The insert's own time: fixed part plus uniform jitter.
  int64_t insert_ms() {
    const int64_t latency = insert_latency_ms_.load();
    const int64_t jitter = insert_jitter_ms_.load();
    if (jitter <= 0) return latency;
    std::scoped_lock lock(rng_mu_);
    return latency + std::uniform_int_distribution<int64_t>(0, jitter)(rng_);
  }

  void get_payment(const Rest::Request& req, Http::ResponseWriter writer) {
    auto w = std::make_shared<Http::ResponseWriter>(std::move(writer));
    std::string id_text = req.param(":id").as<std::string>();
    guarded(w, [this, w, id_text] {
      auto id = parse_uuid(id_text);
      auto p = id.is_ok() ? store_.find(id.value()) : std::nullopt;
      if (!p) {
        reply(*w, Http::Code::Not_Found);
      } else {
        reply(*w, Http::Code::Ok,
              "{\"correlationId\":\"" + format_uuid(id.value()) +
                  "\",\"amount\":" + format_cents(p->amount) + ",\"requestedAt\":\"" +
                  format_iso8601(UtcMillis{p->requested_at.value / 1000}) + "\"}");
      }
      done();
    });
  }

  // --- health: fixed window shared by all callers ---------------------------------------

  void schedule_window(SteadyTime start) {
    SteadyTime next = start + std::chrono::seconds(opts_.rate_limit_seconds);
    timers_->schedule(next, [this, next] {
      if (Waiter w = health_.replenish()) w();
      schedule_window(next);
    });
  }

  void get_health(const Rest::Request&, Http::ResponseWriter writer) {
    health_calls_.fetch_add(1);
    auto w = std::make_shared<Http::ResponseWriter>(std::move(writer));
    // Values are read when the answer goes out, as the real endpoint reads them after its
    // limiter lets it through.
    auto answer = [this, w] {
      reply(*w, Http::Code::Ok,
            std::string("{\"failing\":") + (failure_.load() ? "true" : "false") +
                ",\"minResponseTime\":" + std::to_string(delay_ms_.load()) + "}");
    };
    switch (health_.acquire(answer)) {
      case Admit::kNow:
        answer();
        break;
      case Admit::kQueued:
        break;
      case Admit::kRejected:
        health_rejected_.fetch_add(1);
        w->headers().add<RetryAfter>();
        reply(*w, Http::Code::Too_Many_Requests, "Too many requests. Try again later.", false);
        break;
    }
  }

  // --- admin ----------------------------------------------------------------------------

  bool authorized(const Rest::Request& req, Http::ResponseWriter& w) {
    auto given = req.headers().tryGetRaw("X-Rinha-Token");
    std::scoped_lock lock(token_mu_);
    if (given && given->value() == token_) return true;
    reply(w, Http::Code::Unauthorized);
    return false;
  }

  void admin_summary(const Rest::Request& req, Http::ResponseWriter w) {
    if (!authorized(req, w)) return;
    std::optional<UtcMicros> bounds[2];
    const char* names[2] = {"from", "to"};
    for (int i = 0; i < 2; ++i) {
      auto text = req.query().get(names[i]);
      if (!text || text->empty()) continue;
      auto t = parse_iso8601(*text);
      if (!t.is_ok()) {
        reply(w, Http::Code::Bad_Request, error_json(std::string("bad '") + names[i] + "'"));
        return;
      }
      bounds[i] = t.value();
    }
    StoreTotals t = store_.summary(bounds[0], bounds[1]);
    score::Decimal amount = score::Decimal::from_cents(t.amount);
    reply(w, Http::Code::Ok,
          "{\"totalAmount\":" + format_cents(t.amount) + ",\"totalRequests\":" +
              std::to_string(t.requests) + ",\"totalFee\":" + (amount * fee_).to_string() +
              ",\"feePerTransaction\":" + fee_.to_string() + "}");
  }

  void admin_token(const Rest::Request& req, Http::ResponseWriter w) {
    if (!authorized(req, w)) return;
    auto token = parse_string_field(req.body(), "token");
    if (!token.is_ok()) return reply(w, Http::Code::Bad_Request, error_json("token is required"));
    {
      std::scoped_lock lock(token_mu_);
      token_ = token.value();
    }
    reply(w, Http::Code::No_Content);
  }

  void admin_delay(const Rest::Request& req, Http::ResponseWriter w) {
    if (!authorized(req, w)) return;
    auto v = parse_int_field(req.body(), "delay");
    if (!v.is_ok() || v.value() < 0)
      return reply(w, Http::Code::Bad_Request, error_json("delay must be an integer >= 0"));
    int64_t was = delay_ms_.exchange(v.value());
    reply(w, Http::Code::Ok,
          "{\"config\":\"delay\",\"was\":" + std::to_string(was) +
              ",\"is\":" + std::to_string(v.value()) + "}");
  }

  void admin_failure(const Rest::Request& req, Http::ResponseWriter w) {
    if (!authorized(req, w)) return;
    auto v = parse_bool_field(req.body(), "failure");
    if (!v.is_ok()) return reply(w, Http::Code::Bad_Request, error_json("failure must be a bool"));
    bool was = failure_.exchange(v.value());
    reply(w, Http::Code::Ok,
          std::string("{\"config\":\"failure\",\"was\":") + (was ? "true" : "false") +
              ",\"is\":" + (v.value() ? "true" : "false") + "}");
  }

  // Ours only (the official processor has no insert time to set): {"latency": ms, "jitter": ms},
  // for `rinhactl load --timeline` files that give one.
  void admin_insert(const Rest::Request& req, Http::ResponseWriter w) {
    if (!authorized(req, w)) return;
    auto latency = parse_int_field(req.body(), "latency");
    auto jitter = parse_int_field(req.body(), "jitter");
    if (!latency.is_ok() || !jitter.is_ok() || latency.value() < 0 || jitter.value() < 0)
      return reply(w, Http::Code::Bad_Request,
                   error_json("latency and jitter must be integers >= 0"));
    const int64_t was_latency = insert_latency_ms_.exchange(latency.value());
    const int64_t was_jitter = insert_jitter_ms_.exchange(jitter.value());
    reply(w, Http::Code::Ok,
          "{\"config\":\"insert\",\"was\":{\"latency\":" + std::to_string(was_latency) +
              ",\"jitter\":" + std::to_string(was_jitter) +
              "},\"is\":{\"latency\":" + std::to_string(latency.value()) +
              ",\"jitter\":" + std::to_string(jitter.value()) + "}}");
  }

  // Ours only: health calls received (answered, queued or 429) and those rejected with 429, so
  // that tests can check a cluster's pollers keep within 1 call per window in total.
  void admin_health_calls(const Rest::Request& req, Http::ResponseWriter w) {
    if (!authorized(req, w)) return;
    reply(w, Http::Code::Ok,
          "{\"received\":" + std::to_string(health_calls_.load()) +
              ",\"rejected\":" + std::to_string(health_rejected_.load()) + "}");
  }

  void admin_purge(const Rest::Request& req, Http::ResponseWriter w) {
    if (!authorized(req, w)) return;
    store_.purge();
    reply(w, Http::Code::Ok, "{\"message\":\"All payments purged.\"}");
  }

  EmulatorOptions opts_;
  score::Decimal fee_;
  ConcurrencyLimiter limiter_;
  FixedWindowLimiter health_;
  std::atomic<int64_t> health_calls_{0};
  std::atomic<int64_t> health_rejected_{0};
  PaymentStore store_;
  std::atomic<int64_t> delay_ms_{0};
  std::atomic<int64_t> insert_latency_ms_;  // from the options; PUT /admin/configurations/insert
  std::atomic<int64_t> insert_jitter_ms_;
  std::mutex rng_mu_;
  std::mt19937 rng_{std::random_device{}()};  // GUARDED_BY(rng_mu_)
  std::atomic<bool> failure_{false};
  std::mutex token_mu_;
  std::string token_;  // GUARDED_BY(token_mu_)
  Rest::Router router_;
  std::unique_ptr<TimerQueue> timers_;
  std::unique_ptr<Http::Endpoint> endpoint_;
};

Emulator::Emulator(EmulatorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Emulator::~Emulator() { stop(); }
Status Emulator::start() { return impl_->start(); }
void Emulator::stop() { impl_->stop(); }
uint16_t Emulator::port() const { return impl_->port(); }

}  // namespace rinha::emulator
