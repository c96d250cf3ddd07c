// The worker against real processes: PostgreSQL, two processor emulators, `rinhad --mode=worker`
// and one `rinhad --mode=api`, all on free loopback ports. Each scenario drives payments through
// the api while a sampler compares, like the official checker but every ~400 ms, our summary
// of [now-15 s, now-2 s] with the emulators' admin summaries; at the end the whole-run totals
// (count and cents) must match too, and every accepted payment must be recorded exactly once.
#include <signal.h>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "common/time.hpp"
#include "instrument/http/http_client.hpp"
#include "instrument/stack/components.hpp"
#include "instrument/stack/net.hpp"
#include "instrument/stack/process.hpp"
#include "support/fixture.hpp"
#include "support/traffic.hpp"
#include "support/window_sampler.hpp"

using namespace rinha;
using namespace rinha::testsupport;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

namespace {

std::string iso(int64_t ms) { return format_iso8601(UtcMillis{ms}); }
int64_t now_ms() { return SystemClock().now_utc().value; }

http::HttpResponse must(Result<http::HttpResponse> r, const std::string& what) {
  INFO(what << ": " << r.status().message());
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

// The worker under test plus one api in front of it, over the fixture's PostgreSQL + emulators.
class Harness {
 public:
  explicit Harness(std::vector<std::string> worker_flags = {})
      : fx_(Parts{true, true, false, false, false}) {
    auto loc = test_locations();
    stack::RinhadWiring w;
    w.worker_listen = "unix:" + fx_.dir().file("worker.sock");
    w.default_url = fx_.stack().default_url();
    w.fallback_url = fx_.stack().fallback_url();
    w.database_url = fx_.stack().database_url();
    w.journal_path = fx_.dir().file("journal");
    worker_spec_ = stack::worker_spec(loc, w, fx_.dir().file("worker.log"));
    worker_spec_.argv.insert(worker_spec_.argv.end(), worker_flags.begin(), worker_flags.end());
    worker_log_ = worker_spec_.log_path;
    start_worker();
    const int port = stack::free_port();
    api_url_ = "http://127.0.0.1:" + std::to_string(port);
    auto ap =
        stack::Process::start(stack::api_spec(loc, w, "api1", port, fx_.dir().file("api1.log")));
    REQUIRE(ap.is_ok());
    api_ = std::move(ap).value();
    auto ready = stack::wait_http_ok(api_url_ + "/payments-summary", 30s);
    INFO("api/worker not ready: " << ready.message() << "\n" << stack::tail_file(worker_log_, 30));
    REQUIRE(ready.is_ok());
  }
  ~Harness() {
    api_.stop();
    worker_.stop();
  }

  void start_worker() {
    auto wp = stack::Process::start(worker_spec_);
    REQUIRE(wp.is_ok());
    worker_ = std::move(wp).value();
  }
  // Stops (SIGTERM, or sig), starts again; ready when the api's summary answers through it.
  void restart_worker(int sig = 15) {
    worker_.stop(5000ms, sig);
    start_worker();
    auto ready = stack::wait_http_ok(api_url_ + "/payments-summary", 30s);
    INFO(ready.message() << "\n" << worker_log_tail());
    REQUIRE(ready.is_ok());
  }
  // Runs SQL in the "postgres" database (works while "rinha" refuses connections).
  void admin_sql(const std::string& sql) {
    std::string url = fx_.stack().database_url();
    url = url.substr(0, url.rfind('/')) + "/postgres";
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    n.exec(sql);
  }
  int64_t stored_rows() {
    auto r = fx_.stack().postgres()->psql("select count(*) from ledger");
    REQUIRE(r.is_ok());
    return std::stoll(*r);
  }

  const std::string& api() const { return api_url_; }
  std::string def() { return fx_.stack().default_url(); }
  std::string fb() { return fx_.stack().fallback_url(); }
  Endpoints endpoints() { return {api_url_, def(), fb()}; }
  std::string worker_log_tail(int n = 40) const { return stack::tail_file(worker_log_, n); }

  void set_delay(const std::string& proc, int ms) {
    auto r = must(http::http_send(request("PUT", proc + "/admin/configurations/delay",
                                          "{\"delay\":" + std::to_string(ms) + "}")),
                  "delay");
    REQUIRE(r.status == 200);
  }
  void set_failure(const std::string& proc, bool on) {
    auto r =
        must(http::http_send(request("PUT", proc + "/admin/configurations/failure",
                                     std::string("{\"failure\":") + (on ? "true" : "false") + "}")),
             "failure");
    REQUIRE(r.status == 200);
  }

  // Ours and both processors' totals, read in parallel; the whole run without a window.
  Ledgers ledgers(std::optional<std::pair<int64_t, int64_t>> window = std::nullopt) {
    auto r = read_ledgers(endpoints(), window);
    INFO(r.status().message());
    REQUIRE(r.is_ok());
    return *r;
  }

 private:
  StackFixture fx_;
  stack::ProcessSpec worker_spec_;
  stack::Process worker_, api_;
  std::string api_url_, worker_log_;
};

// Waits until every accepted payment is recorded (ours == processors' == accepted) or 30 s.
void expect_settled_and_equal(Harness& h, int64_t accepted) {
  Ledgers t;
  const auto deadline = Steady::now() + 30s;
  while (Steady::now() < deadline) {
    t = h.ledgers();
    if (t.consistent() && t.processor_requests() == accepted) break;
    std::this_thread::sleep_for(200ms);
  }
  INFO(t << "; accepted " << accepted << "\n" << h.worker_log_tail());
  CHECK(t.consistent());
  CHECK(t.processor_requests() == accepted);
  // The same through an explicit window spanning the run (the teardown's form).
  const int64_t now = now_ms();
  auto w = h.ledgers(std::pair{now - 600'000, now + 600'000});
  INFO(w);
  CHECK(w.consistent());
}

// Each scenario samples the official check [now-15 s, now-2 s] every 400 ms (200 ms where the
// scenario runs twice the rate for half the time: as many checks) while payments are in flight:
// every check answered and agreed.
void expect_no_mismatch(WindowSampler& s) {
  auto m = s.mismatches();
  auto u = s.unanswered_reads();
  INFO(m.size() << " of " << s.checks() << " checks disagreed; first: " << (m.empty() ? "" : m[0])
                << "; unanswered " << s.unanswered() << (u.empty() ? "" : ", first: " + u[0]));
  CHECK(m.empty());
  CHECK(s.unanswered() == 0);
  CHECK(s.checks() > 5);
}

}  // namespace

TEST_CASE("normal flow: everything goes to the default and every check agrees") {
  Harness h;
  WindowSampler s(h.endpoints(), 200ms, 200ms);
  PaymentTraffic load(h.api(), 300);  // the payments of 8 s at 150/s in 4 s
  std::this_thread::sleep_for(4s);
  load.stop();
  expect_settled_and_equal(h, load.accepted());
  s.stop();
  expect_no_mismatch(s);
  auto t = h.ledgers();
  CHECK(t.ours_fallback.requests == 0);
  CHECK(t.ours_default.requests > 500);
  CHECK(load.refused() == 0);
}

TEST_CASE("failing default: payments go to the fallback - and back once it recovers") {
  Harness h;
  h.set_failure(h.def(), true);
  WindowSampler s(h.endpoints(), 200ms, 200ms);
  PaymentTraffic load(h.api(), 300);  // the payments of 6 s at 150/s in 3 s
  std::this_thread::sleep_for(3s);
  auto mid = h.ledgers();
  CHECK(mid.proc_fallback.requests > 300);
  h.set_failure(h.def(), false);
  const auto before = mid.proc_default.requests;
  // Until the default took the traffic back (asserted below), not a guessed 6 s.
  eventually(15s, [&] { return h.ledgers().ours_default.requests > before + 300; });
  load.stop();
  expect_settled_and_equal(h, load.accepted());
  s.stop();
  expect_no_mismatch(s);
  auto t = h.ledgers();
  CHECK(t.ours_default.requests > before + 300);  // the default took the traffic back
}

TEST_CASE("slow default (1-5 s delays): fallback while it is faster - back to the default after") {
  Harness h;
  WindowSampler s(h.endpoints(), 400ms, 400ms);
  PaymentTraffic load(h.api(), 150);
  // Steps up stay under 2 s (see the next test for why).
  for (int d : {1000, 2500, 4000, 5000, 0}) {
    h.set_delay(h.def(), d);
    std::this_thread::sleep_for(4s);
  }
  auto mid = h.ledgers();
  CHECK(mid.proc_fallback.requests > 300);  // 2-5 s default: the instant fallback took the traffic
  // A health poll (every 5 s) reports the default fast again and it takes the traffic back.
  CHECK(eventually(
      15s, [&] { return h.ledgers().proc_default.requests > mid.proc_default.requests + 300; }));
  load.stop();
  expect_settled_and_equal(h, load.accepted());
  s.stop();
  expect_no_mismatch(s);
  auto t = h.ledgers();
  CHECK(t.ours_default.requests > mid.proc_default.requests + 300);
}

TEST_CASE("slow default with a failing fallback: long in-flight payments - checks still agree") {
  Harness h;
  h.set_failure(h.fb(), true);
  WindowSampler s(h.endpoints(), 400ms, 400ms);
  PaymentTraffic load(h.api(), 100);
  // Long delays, but no step up of 2 s or more: that is the documented limit of the requestedAt
  // stamping (worker/dispatcher.cpp); a larger jump on a processor that keeps succeeding can put
  // the payments sent just before it is noticed inside a check window (counted as ambiguous).
  for (int d : {1000, 2500, 4000, 3000, 0}) {
    h.set_delay(h.def(), d);
    std::this_thread::sleep_for(4s);
  }
  load.stop();
  expect_settled_and_equal(h, load.accepted());
  s.stop();
  expect_no_mismatch(s);
  CHECK(h.ledgers().proc_fallback.requests == 0);
}

TEST_CASE("both failing - then recovering: nothing is lost or counted twice") {
  Harness h;
  // Twice the rate for half of each phase: the same backlog (~750 payments) while both fail.
  WindowSampler s(h.endpoints(), 200ms, 200ms);
  PaymentTraffic load(h.api(), 300);
  std::this_thread::sleep_for(1s);
  h.set_failure(h.def(), true);
  h.set_failure(h.fb(), true);
  std::this_thread::sleep_for(2500ms);
  h.set_failure(h.fb(), false);
  std::this_thread::sleep_for(1s);
  h.set_failure(h.def(), false);
  std::this_thread::sleep_for(1500ms);
  load.stop();
  expect_settled_and_equal(h, load.accepted());
  s.stop();
  expect_no_mismatch(s);
}

TEST_CASE("client timeout while the processor still inserts: looked up - counted once") {
  // Our timeout (800 ms) is shorter than the default's delay (1500 ms): every payment to it is an
  // unknown outcome that the processor commits after we gave up.
  Harness h({"--processors.default.timeout_ms=800", "--retry.recheck_ms=1000"});
  h.set_delay(h.def(), 1500);
  WindowSampler s(h.endpoints(), 400ms, 400ms);
  PaymentTraffic load(h.api(), 60);
  std::this_thread::sleep_for(6s);
  load.stop();
  h.set_delay(h.def(), 0);
  expect_settled_and_equal(h, load.accepted());
  s.stop();
  CHECK(s.unanswered() == 0);  // the summary answered throughout
  auto t = h.ledgers();
  CHECK(t.ours_default.requests > 0);  // some were inserted by the default after our timeout
  // Timeouts make checks ambiguous by construction (the processor commits before we know);
  // what must hold is the final agreement above and no payment on both processors.
  CHECK(t.ours_default.requests + t.ours_fallback.requests == load.accepted());
}

TEST_CASE("duplicate: a payment already recorded at the default (422) is counted as stored there") {
  Harness h;
  uint64_t seed = 42;
  const std::string id = random_uuid(seed);
  const int64_t stored_at = now_ms() - 60'000;  // a requestedAt we would never send
  auto pre = must(http::http_send(request("POST", h.def() + "/payments",
                                          "{\"correlationId\":\"" + id +
                                              "\",\"amount\":19.90,\"requestedAt\":\"" +
                                              iso(stored_at) + "\"}")),
                  "direct post");
  REQUIRE(pre.status == 200);
  auto ours = must(http::http_send(request("POST", h.api() + "/payments",
                                           "{\"correlationId\":\"" + id + "\",\"amount\":19.90}")),
                   "api post");
  REQUIRE(ours.status / 100 == 2);
  // Sent twice to the api: processed once.
  must(http::http_send(request("POST", h.api() + "/payments",
                               "{\"correlationId\":\"" + id + "\",\"amount\":19.90}")),
       "api post again");
  expect_settled_and_equal(h, 1);
  auto at = h.ledgers(std::pair{stored_at, stored_at});  // exactly the processor's requestedAt
  CHECK(at.ours_default.requests == 1);
  CHECK(at.ours_default.cents == 1990);
}

TEST_CASE("purge: clears the ledger - the queue and in-flight outcomes") {
  Harness h;
  h.set_delay(h.def(), 1000);
  {
    PaymentTraffic load(h.api(), 200);  // the payments of 3 s at 100/s in 1.5 s
    std::this_thread::sleep_for(1500ms);
    load.stop();
  }
  // Payments are in flight (1 s delay) when we purge.
  auto p = must(http::http_send(request("POST", h.api() + "/purge-payments")), "purge");
  REQUIRE(p.status / 100 == 2);
  auto zero = h.ledgers();
  CHECK(zero.ours_default.requests == 0);
  CHECK(zero.ours_fallback.requests == 0);
  std::this_thread::sleep_for(2500ms);        // what was in flight lands at the processor...
  for (const auto& proc : {h.def(), h.fb()})  // ...and is purged there, as k6's setup() does
    REQUIRE(must(http::http_send(request("POST", proc + "/admin/purge-payments")), "admin purge")
                .status == 200);
  CHECK(h.ledgers().ours_default.requests == 0);  // dropped outcomes were not counted
  h.set_delay(h.def(), 0);
  WindowSampler s(h.endpoints(), 200ms, 200ms);
  PaymentTraffic load(h.api(), 200);
  std::this_thread::sleep_for(2s);
  load.stop();
  expect_settled_and_equal(h, load.accepted());
  s.stop();
  expect_no_mismatch(s);
}

TEST_CASE(
    "PostgreSQL outage: forwarding goes on - rows flush later - a restart reloads the ledger") {
  Harness h;
  WindowSampler s(h.endpoints(), 400ms, 400ms);
  PaymentTraffic load(h.api(), 100);
  std::this_thread::sleep_for(2s);
  h.admin_sql("ALTER DATABASE rinha ALLOW_CONNECTIONS false");
  h.admin_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'rinha'");
  std::this_thread::sleep_for(4s);
  const auto during = h.ledgers();
  CHECK(during.ours_default.requests > 450);  // payments kept being forwarded and counted
  h.admin_sql("ALTER DATABASE rinha ALLOW_CONNECTIONS true");
  std::this_thread::sleep_for(2s);
  load.stop();
  expect_settled_and_equal(h, load.accepted());
  s.stop();
  expect_no_mismatch(s);
  // Every confirmed payment reaches PostgreSQL once it is back.
  const auto deadline = Steady::now() + 10s;
  while (h.stored_rows() != load.accepted() && Steady::now() < deadline)
    std::this_thread::sleep_for(100ms);
  CHECK(h.stored_rows() == load.accepted());
  const auto before = h.ledgers();
  h.restart_worker();
  const auto after = h.ledgers();
  CHECK(after == before);
  CHECK(after.ours_default.requests == load.accepted());
}

TEST_CASE("worker killed with payments in flight: the journal replay settles each exactly once") {
  Harness h;
  h.set_delay(h.def(), 1000);  // many payments in flight at the kill
  int64_t accepted = 0;
  {
    PaymentTraffic load(h.api(), 200);  // the payments of 3 s at 100/s in 1.5 s
    std::this_thread::sleep_for(1500ms);
    load.stop();
    accepted = load.accepted();
  }
  h.restart_worker(SIGKILL);
  h.set_delay(h.def(), 0);
  {
    PaymentTraffic load(h.api(), 200);
    std::this_thread::sleep_for(1s);
    load.stop();
    accepted += load.accepted();
  }
  expect_settled_and_equal(h, accepted);
  INFO(h.worker_log_tail(5));
  CHECK(h.worker_log_tail(200).find("payments to reconcile") != std::string::npos);
}
