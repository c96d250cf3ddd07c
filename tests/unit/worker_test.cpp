// The dispatcher (worker loop) against two fake processors served over loopback HTTP, with a
// fake store: confirmation, 422, 5xx, timeouts while the processor inserts, purge, ambiguous
// summaries, journal-replay reconciliation. Asserts who got which POST and what was counted.
#include <catch2/catch.hpp>
#include <map>

#include "support/tiny_http_server.hpp"
#include "worker/dispatcher.hpp"

using namespace rinha;
using namespace rinha::worker;
using rinha::testing::Action;
using rinha::testing::SeenRequest;
using rinha::testing::TinyServer;
using std::chrono::milliseconds;

namespace {

std::string field(const std::string& body, const std::string& name) {
  auto p = body.find("\"" + name + "\":");
  if (p == std::string::npos) return "";
  p += name.size() + 3;
  if (body[p] == '"') {
    auto e = body.find('"', p + 1);
    return body.substr(p + 1, e - p - 1);
  }
  auto e = body.find_first_of(",}", p);
  return body.substr(p, e - p);
}

// A payment processor: 500 when failing (nothing stored), 422 on a known id, else stores the
// payment and then answers after delay_ms (so a short client timeout sees an unknown outcome
// for a payment that IS stored).
class FakeProcessor {
 public:
  FakeProcessor() : server_([this](const SeenRequest& r) { return handle(r); }) {}
  std::string url() const { return server_.url(); }
  std::atomic<bool> failing{false};
  std::atomic<int> delay_ms{0};
  std::atomic<int> posts{0};
  std::atomic<int> lookups{0};
  void store(const std::string& id, const std::string& amount, const std::string& at) {
    std::scoped_lock l(mu_);
    stored_[id] = {amount, at};
  }
  size_t stored_count() {
    std::scoped_lock l(mu_);
    return stored_.size();
  }
  std::string stored_at(const std::string& id) {
    std::scoped_lock l(mu_);
    return stored_.count(id) ? stored_[id].second : "";
  }

 private:
  Action handle(const SeenRequest& r) {
    Action a;
    if (r.head.rfind("GET /payments/service-health", 0) == 0) {
      a.body =
          std::string("{\"failing\":") + (failing ? "true" : "false") + ",\"minResponseTime\":0}";
      return a;
    }
    if (r.head.rfind("GET /payments/", 0) == 0) {
      ++lookups;
      const std::string id = r.head.substr(14, 36);
      std::scoped_lock l(mu_);
      auto it = stored_.find(id);
      if (it == stored_.end()) {
        a.status = 404;
        return a;
      }
      a.body = "{\"correlationId\":\"" + id + "\",\"amount\":" + it->second.first +
               ",\"requestedAt\":\"" + it->second.second + "\"}";
      return a;
    }
    ++posts;
    a.delay_ms = delay_ms;
    if (failing) {
      a.status = 500;
      return a;
    }
    const std::string id = field(r.body, "correlationId");
    std::scoped_lock l(mu_);
    if (stored_.count(id)) {
      a.status = 422;
      return a;
    }
    stored_[id] = {field(r.body, "amount"), field(r.body, "requestedAt")};
    return a;
  }

  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> stored_;
  TinyServer server_;  // last: its threads call handle()
};

class NullStore : public ledger::Store {
 public:
  Status open() override { return Status::ok(); }
  Status insert(const std::vector<ledger::Entry>& e) override {
    rows += static_cast<int>(e.size());
    return Status::ok();
  }
  Result<std::vector<ledger::Entry>> load_all() override { return std::vector<ledger::Entry>{}; }
  Status purge() override {
    rows = 0;
    return Status::ok();
  }
  std::atomic<int> rows{0};
};

handoff::AcceptedPayment payment(int n, int64_t cents = 1990) {
  Uuid u;
  u.bytes[0] = 0x42;
  u.bytes[14] = static_cast<uint8_t>(n >> 8);
  u.bytes[15] = static_cast<uint8_t>(n);
  return {u, Cents{cents}, UtcMillis{0}};
}

// The worker's parts wired as in run(), with the loop on its own thread.
struct Rig {
  explicit Rig(int default_timeout_ms = 2000)
      : client({processor::EndpointConfig{def.url(), default_timeout_ms, 500, 64},
                processor::EndpointConfig{fb.url(), 2000, 500, 64}}),
        writer(store, ledger::WriterConfig{}),
        d(config(), clock, client, ledger, ledger_mu, writer, stats) {}
  static DispatcherConfig config() {
    DispatcherConfig c;
    c.recheck_ms = 100;
    c.lookup_timeout_ms = 1000;
    c.stats_log_ms = 0;
    c.drain_ms = 0;
    c.reconcile_delay_ms = 0;
    return c;
  }
  void start() {
    writer.start();
    loop = std::thread([this] { d.run_loop(); });
  }
  ~Rig() {
    d.request_stop();
    if (loop.joinable()) loop.join();
    writer.stop();
  }
  summary::SummaryTotals totals(summary::Window w = {}) { return d.summarize(w).value(); }
  // Polls until pred() or 5 s.
  template <typename F>
  bool wait_for(F pred) {
    for (int i = 0; i < 500 && !pred(); ++i) std::this_thread::sleep_for(milliseconds(10));
    return pred();
  }

  FakeProcessor def, fb;
  SystemClock clock;
  processor::Client client;
  ledger::Ledger ledger;
  std::mutex ledger_mu;
  NullStore store;
  ledger::LedgerWriter writer;
  Stats stats;
  Dispatcher d;
  std::thread loop;
};

}  // namespace

TEST_CASE("confirmed payments are counted once - with the requestedAt that was sent") {
  Rig rig;
  rig.start();
  const int64_t before = SystemClock().now_utc().value;
  std::vector<handoff::AcceptedPayment> batch;
  for (int i = 0; i < 20; ++i) batch.push_back(payment(i));
  REQUIRE(rig.d.accept(batch).is_ok());
  REQUIRE(rig.d.accept({payment(3)}).is_ok());  // the same id again: not processed twice
  REQUIRE(rig.wait_for([&] { return rig.totals().default_totals.requests == 20; }));
  std::this_thread::sleep_for(milliseconds(100));
  CHECK(rig.def.posts == 20);
  CHECK(rig.fb.posts == 0);
  CHECK(rig.totals().default_totals.amount.value == 20 * 1990);
  CHECK(rig.stats.duplicates_ignored == 1);
  // The processor's stored requestedAt is the one we count: a 1 ms window around it finds it.
  auto at = parse_iso8601(rig.def.stored_at(format_uuid(payment(7).id)));
  REQUIRE(at.is_ok());
  const int64_t ms = at->value / 1000;
  CHECK(ms >= before);  // stamped at send time + expected latency + margin, never earlier
  summary::Window w;
  w.from_ms = w.to_ms = ms;
  CHECK(rig.totals(w).default_totals.requests >= 1);
  REQUIRE(rig.wait_for([&] { return rig.store.rows == 20; }));
}

TEST_CASE("422: counted with the amount and requestedAt the processor stored") {
  Rig rig;
  const auto p = payment(1);
  rig.def.store(format_uuid(p.id), "19.90", "2025-07-10T12:34:56.789Z");
  rig.start();
  REQUIRE(rig.d.accept({p}).is_ok());
  REQUIRE(rig.wait_for([&] { return rig.totals().default_totals.requests == 1; }));
  summary::Window w;
  w.from_ms = w.to_ms = 1752150896789;
  CHECK(rig.totals(w).default_totals.requests == 1);
  CHECK(rig.stats.duplicate_422[0] == 1);
  CHECK(rig.def.lookups >= 1);
  CHECK(rig.fb.posts == 0);
}

TEST_CASE("500: looked up on that processor - proven absent - retried - counted once") {
  Rig rig;
  rig.def.failing = true;
  rig.start();
  std::vector<handoff::AcceptedPayment> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(payment(i));
  REQUIRE(rig.d.accept(batch).is_ok());
  REQUIRE(rig.wait_for([&] {
    auto t = rig.totals();
    return t.default_totals.requests + t.fallback_totals.requests == 10;
  }));
  std::this_thread::sleep_for(milliseconds(200));
  auto t = rig.totals();
  CHECK(t.fallback_totals.requests == 10);
  CHECK(t.default_totals.requests == 0);
  CHECK(rig.def.stored_count() == 0);
  CHECK(rig.fb.stored_count() == 10);
  // Every 500 was followed by a lookup at the default before the payment moved on.
  CHECK(rig.def.lookups.load() == rig.stats.server_errors[0].load());
  CHECK(rig.stats.lookup_absent == rig.stats.server_errors[0].load());
}

TEST_CASE("timeout while the processor inserts: found by lookup - never sent elsewhere") {
  Rig rig(200);  // our timeout 200 ms; the default stores, then answers after 600 ms
  rig.def.delay_ms = 600;
  rig.start();
  REQUIRE(rig.d.accept({payment(1), payment(2)}).is_ok());
  REQUIRE(rig.wait_for([&] { return rig.totals().default_totals.requests == 2; }));
  CHECK(rig.stats.unknown[0] == 2);
  CHECK(rig.stats.lookup_found == 2);
  CHECK(rig.fb.posts == 0);
  CHECK(rig.def.posts == 2);
}

TEST_CASE("open payments inside the asked window make the summary ambiguous (metric)") {
  Rig rig;
  rig.def.delay_ms = 400;
  rig.start();
  REQUIRE(rig.d.accept({payment(1)}).is_ok());
  REQUIRE(rig.wait_for([&] { return rig.def.posts == 1; }));
  const int64_t now = SystemClock().now_utc().value;
  summary::Window w;
  w.from_ms = now - 10'000;
  w.to_ms = now + 10'000;
  CHECK(rig.totals(w).default_totals.requests == 0);  // not confirmed yet: not counted
  CHECK(rig.stats.ambiguous_summaries == 1);
  CHECK(rig.stats.ambiguous_payments == 1);
  REQUIRE(rig.wait_for([&] { return rig.stats.confirmed[0] == 1; }));
  CHECK(rig.totals(w).default_totals.requests == 1);
  CHECK(rig.stats.ambiguous_summaries == 1);  // settled: no longer ambiguous
}

TEST_CASE("purge drops the ledger and the outcomes of payments still in flight") {
  Rig rig;
  rig.start();
  REQUIRE(rig.d.accept({payment(1)}).is_ok());
  REQUIRE(rig.wait_for([&] { return rig.totals().default_totals.requests == 1; }));
  rig.def.delay_ms = 300;
  REQUIRE(rig.d.accept({payment(2), payment(3)}).is_ok());
  REQUIRE(rig.wait_for([&] { return rig.def.posts == 3; }));
  REQUIRE(rig.d.purge().is_ok());
  CHECK(rig.totals() == summary::SummaryTotals{});
  std::this_thread::sleep_for(milliseconds(600));  // their 200s arrive after the purge
  CHECK(rig.totals() == summary::SummaryTotals{});
  REQUIRE(rig.wait_for([&] { return rig.store.rows == 0 && rig.d.backlog() == 0; }));
  // The worker goes on normally afterwards.
  rig.def.delay_ms = 0;
  REQUIRE(rig.d.accept({payment(4)}).is_ok());
  REQUIRE(rig.wait_for([&] { return rig.totals().default_totals.requests == 1; }));
}

TEST_CASE("journal replay: each payment is looked up on both processors before any send") {
  Rig rig;
  const auto at_fb = payment(1), nowhere = payment(2);
  rig.fb.store(format_uuid(at_fb.id), "19.90", "2025-07-10T00:00:00.000Z");
  rig.d.reconcile({at_fb, nowhere});
  rig.start();
  REQUIRE(rig.wait_for([&] {
    auto t = rig.totals();
    return t.fallback_totals.requests == 1 && t.default_totals.requests == 1;
  }));
  CHECK(rig.fb.posts == 0);   // found there: settled, not re-sent
  CHECK(rig.def.posts == 1);  // absent on both: sent once
  CHECK(rig.stats.replayed == 2);
}
