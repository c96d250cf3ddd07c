// The ledger with a tiny horizon (2 s) and small buckets (500 ms) in the whole stack: ~150
// payments/s for 12 s, so most of the history is folded into buckets while traffic runs.
// During the run the official check ([now-15 s, now-2 s], every second: wholly older than the
// horizon, so its edges are PostgreSQL range queries) must agree with the processors; the
// worker's in-memory entry count (its /metrics) must stay under rate x (horizon + slack).
// After it, summaries over old, new (still in detail) and straddling windows, bucket-aligned
// or not, must equal the processors' to the cent, before and after a worker restart (which
// loads bucket totals and the recent rows only). Then old ids retried are charged once.
#include <catch2/catch.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "common/time.hpp"
#include "instrument/http/http_client.hpp"
#include "instrument/stack/stack.hpp"
#include "support/books.hpp"
#include "support/fixture.hpp"
#include "support/traffic.hpp"

using namespace rinha;
using namespace rinha::testsupport;
using namespace std::chrono_literals;

namespace {

int64_t now_ms() { return SystemClock().now_utc().value; }

// A gauge of the worker's /metrics; -1 when unreadable.
int64_t gauge(const std::string& metrics_url, const std::string& name) {
  http::HttpRequest r;
  r.url = metrics_url;
  auto got = http::http_send(r);
  if (!got.is_ok() || got->status != 200) return -1;
  std::smatch m;
  if (!std::regex_search(got->body, m, std::regex("\n" + name + " ([0-9]+)\n"))) return -1;
  return std::stoll(m[1]);
}

// Waits until the counter reaches at least n.
bool gauge_at_least(const std::string& metrics_url, const std::string& name, int64_t n,
                    std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (gauge(metrics_url, name) < n) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

void set_failure(const std::string& processor_url, bool on) {
  http::HttpRequest r;
  r.method = "PUT";
  r.url = processor_url + "/admin/configurations/failure";
  r.body = std::string("{\"failure\":") + (on ? "true" : "false") + "}";
  r.headers = {{"X-Rinha-Token", "123"}};
  auto got = http::http_send(r);
  REQUIRE(got.is_ok());
  REQUIRE(got->status == 200);
}

}  // namespace

TEST_CASE("tiny horizon: old, new and straddling windows equal the processors' to the cent") {
  constexpr int kRate = 150;
  constexpr int64_t kHorizonMs = 2000;
  stack::StackOptions opts = test_options(Parts::whole());
  opts.worker_args = {"--ledger.horizon_ms=" + std::to_string(kHorizonMs),
                      "--ledger.bucket_ms=500"};
  StackFixture f(opts);
  stack::Stack& st = f.stack();
  const Endpoints ep{st.lb_url(), st.default_url(), st.fallback_url()};
  REQUIRE(!st.worker_metrics_url().empty());

  const int64_t t0 = now_ms();
  PaymentTraffic traffic(st.lb_url(), kRate);
  int checks = 0;
  int64_t max_detail = 0;
  std::vector<std::string> mismatches;
  for (int s = 0; s < 12; ++s) {
    std::this_thread::sleep_for(1s);
    max_detail =
        std::max(max_detail, gauge(st.worker_metrics_url(), "rinha_worker_ledger_detail_entries"));
    const int64_t now = now_ms();
    auto l = read_ledgers(ep, std::pair{now - 15000, now - 2000});
    REQUIRE(l.is_ok());
    ++checks;
    if (!l->consistent()) {
      std::ostringstream o;
      o << "t+" << now - t0 << " ms: " << *l;
      mismatches.push_back(o.str());
    }
  }
  traffic.stop();
  const int64_t t_end = now_ms();
  auto settled = wait_settled(ep, traffic.accepted(), 30s);
  REQUIRE(settled.is_ok());
  REQUIRE(settled->consistent());
  const int64_t buckets = gauge(st.worker_metrics_url(), "rinha_worker_ledger_buckets");
  const int64_t detail = gauge(st.worker_metrics_url(), "rinha_worker_ledger_detail_entries");
  INFO("checks " << checks << ", first mismatch: " << (mismatches.empty() ? "none" : mismatches[0])
                 << "; max detail " << max_detail << ", detail now " << detail << ", buckets "
                 << buckets << "; settled " << *settled);
  CHECK(mismatches.empty());
  CHECK(settled->processor_requests() > kRate * 8);
  CHECK(buckets >= 15);  // ~9 s folded into 500 ms buckets
  // The horizon's payments, plus what waits for its INSERT or its reply (~1 s at most).
  CHECK(max_detail > 0);
  CHECK(max_detail < kRate * (kHorizonMs + 1000) / 1000);

  struct Case {
    const char* name;
    int64_t from, to;
  };
  const Case cases[] = {
      {"old, edges inside buckets", t0 + 1234, t0 + 5678},
      {"old, bucket-aligned", (t0 / 500 + 4) * 500, (t0 / 500 + 10) * 500 - 1},
      {"old, inside one bucket", t0 + 3011, t0 + 3222},
      {"straddling the horizon", t_end - 4321, t_end - 700},
      {"new (in detail)", t_end - 1500, t_end + 5000},
      {"everything", t0 - 60000, t_end + 60000},
  };
  auto check_all = [&](const char* when) {
    for (const Case& c : cases) {
      auto l = read_ledgers(ep, std::pair{c.from, c.to});
      REQUIRE(l.is_ok());
      INFO(when << ", " << c.name << ": " << *l);
      CHECK(l->consistent());
      CHECK(l->processor_requests() > 0);
    }
  };
  check_all("before restart");

  REQUIRE(st.restart("worker").is_ok());
  check_all("after restart");

  // A client retrying ids folded out of memory long ago, while the default processor fails: sent
  // again they would go to the fallback and be charged twice. The store is asked first.
  const std::vector<SentPayment> sent = traffic.sent();
  std::vector<SentPayment> old_ids;
  for (const auto& p : sent)
    if (p.status / 100 == 2 && old_ids.size() < 40) old_ids.push_back(p);
  REQUIRE(old_ids.size() == 40);
  auto before = read_ledgers(ep);
  REQUIRE(before.is_ok());
  set_failure(st.default_url(), true);
  for (const auto& p : old_ids) {
    http::HttpRequest r;
    r.method = "POST";
    r.url = st.lb_url() + "/payments";
    r.body = "{\"correlationId\":\"" + p.id + "\",\"amount\":" + cents_text(p.cents) + "}";
    auto got = http::http_send(r);
    REQUIRE(got.is_ok());
    CHECK(got->status / 100 == 2);
  }
  REQUIRE(gauge_at_least(st.worker_metrics_url(), "rinha_worker_old_duplicates_total", 40, 10s));
  set_failure(st.default_url(), false);
  auto after = read_ledgers(ep);
  REQUIRE(after.is_ok());
  INFO("before the retries " << *before << "; after " << *after);
  CHECK(after->consistent());
  CHECK(after->processor_requests() == before->processor_requests());
  auto audit = audit_payments(old_ids, ep);
  REQUIRE(audit.is_ok());
  INFO(*audit);
  // These 40 only: the totals (settled) also hold the rest of the run.
  check_audit(*audit, 40);
  std::printf(
      "ledger horizon: %lld payments, max detail %lld (bound %d), %lld buckets, %d checks, "
      "%zu mismatches\n",
      static_cast<long long>(settled->processor_requests()), static_cast<long long>(max_detail),
      kRate * 3, static_cast<long long>(buckets), checks, mismatches.size());
}
