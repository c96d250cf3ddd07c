// PostgreSQL outage: the whole stack under ~150 payments/s through HAProxy while PostgreSQL is
// stopped (pg_ctl stop -m fast) for ~10 s and started again on the same data dir and port.
// The worker must keep forwarding and answering summaries from its in-memory ledger, the
// official check ([now-15 s, now-2 s], every 250-500 ms) must agree with the processors during
// and after the outage, nothing accepted may be lost, and once PostgreSQL is back its ledger
// rows must equal the processors' totals (count and cents).
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <sstream>
#include <thread>

#include "support/books.hpp"
#include "support/fixture.hpp"
#include "support/traffic.hpp"
#include "support/window_sampler.hpp"

using namespace rinha;
using namespace rinha::testsupport;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

namespace {

struct Rows {
  int64_t count = 0;
  int64_t cents = 0;
};

Result<Rows> ledger_rows(stack::Postgres& pg) {
  auto r = pg.psql("select count(*) || ' ' || coalesce(sum(amount_cents), 0) from ledger");
  if (!r.is_ok()) return r.status();
  Rows rows;
  if (std::sscanf(r->c_str(), "%ld %ld", &rows.count, &rows.cents) != 2)
    return Status::malformed("psql: " + *r);
  return rows;
}

}  // namespace

TEST_CASE("PostgreSQL stopped for 10 s under load: forwarding and summaries go on, rows catch up") {
  StackFixture f(Parts::whole());
  stack::Stack& st = f.stack();
  const Endpoints ep{st.lb_url(), st.default_url(), st.fallback_url()};
  REQUIRE(st.postgres() != nullptr);

  // The 10 s outage is the point and stays; the load before and after it is half as long, so
  // the checker samples twice as often to check as many windows.
  WindowSampler checker(ep, 250ms, 500ms);
  PaymentTraffic traffic(st.lb_url(), 150);
  std::this_thread::sleep_for(2500ms);

  REQUIRE(st.kill("postgres", SIGINT).is_ok());
  const auto down_at = Steady::now();
  const auto before = read_ledgers(ep);
  REQUIRE(before.is_ok());
  std::this_thread::sleep_for(10s);
  const auto during = read_ledgers(ep);  // still answered, from memory
  REQUIRE(during.is_ok());
  Status up = st.restart("postgres");
  INFO(up.message());
  REQUIRE(up.is_ok());
  const auto down_for =
      std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - down_at);
  std::this_thread::sleep_for(3s);
  traffic.stop();
  const auto sent = traffic.sent();

  auto settled = wait_settled(ep, traffic.accepted(), 30s);
  REQUIRE(settled.is_ok());
  checker.stop();
  auto audit = audit_payments(sent, ep);
  REQUIRE(audit.is_ok());

  // Every confirmed payment reaches PostgreSQL once it is back (the writer retries with backoff).
  Result<Rows> rows = Status::timeout("not read");
  const auto deadline = Steady::now() + 20s;
  do {
    rows = ledger_rows(*st.postgres());
    if (rows.is_ok() && rows->count == settled->processor_requests()) break;
    std::this_thread::sleep_for(250ms);
  } while (Steady::now() < deadline);
  REQUIRE(rows.is_ok());

  const int64_t during_outage = during->processor_requests() - before->processor_requests();
  std::ostringstream report;
  report << "pg outage: down " << down_for.count() << " ms, payments forwarded meanwhile "
         << during_outage << "; " << *audit << "; rows after " << rows->count << " / "
         << rows->cents << " cents; " << *settled << "; window checks " << checker.checks()
         << ", mismatches " << checker.mismatches().size() << ", unanswered "
         << checker.unanswered();
  std::printf("%s\n", report.str().c_str());
  auto mism = checker.mismatches();
  auto unanswered = checker.unanswered_reads();
  INFO(report.str() << "\nfirst mismatch: " << (mism.empty() ? "" : mism[0])
                    << "\nfirst unanswered: " << (unanswered.empty() ? "" : unanswered[0])
                    << "\nworker log:\n"
                    << stack::tail_file(f.dir().file("worker.log"), 30));

  CHECK(during_outage > 1000);  // ~150/s for 10 s went on to the processors
  CHECK(traffic.refused() == 0);
  check_books(*audit, *settled, traffic.accepted());
  CHECK(mism.empty());
  CHECK(checker.unanswered() == 0);
  CHECK(checker.checks() > 30);
  CHECK(rows->count == settled->processor_requests());
  CHECK(rows->cents == settled->proc_default.cents + settled->proc_fallback.cents);
  // The writer really met the outage (and kept the rows in memory).
  CHECK(stack::tail_file(f.dir().file("worker.log"), 400).find("rows kept in memory") !=
        std::string::npos);
  Status alive = st.check_alive();
  INFO(alive.message());
  CHECK(alive.is_ok());
}

TEST_CASE("worker restarted while PostgreSQL is down: it waits for the ledger, loses nothing") {
  // The in-memory ledger answers summaries and must start from what PostgreSQL holds, so a
  // worker (re)started during an outage does not listen until PostgreSQL is back: meanwhile the
  // apis answer 503. What was accepted before the crash is still settled exactly once.
  StackFixture f(Parts::whole());
  stack::Stack& st = f.stack();
  const Endpoints ep{st.lb_url(), st.default_url(), st.fallback_url()};

  PaymentTraffic traffic(st.lb_url(), 150);
  std::this_thread::sleep_for(1500ms);
  REQUIRE(st.kill("postgres", SIGINT).is_ok());
  std::this_thread::sleep_for(2s);
  REQUIRE(st.kill("worker", SIGKILL).is_ok());
  const int64_t refused_before = traffic.refused();
  const auto worker_down = Steady::now();
  std::thread pg_back([&] {
    std::this_thread::sleep_for(5s);
    CHECK(st.restart("postgres").is_ok());
  });
  Status up = st.restart("worker");  // returns once the worker listens
  pg_back.join();
  INFO(up.message());
  REQUIRE(up.is_ok());
  const auto worker_gap =
      std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - worker_down);
  std::this_thread::sleep_for(1500ms);
  const Books b = settle_and_audit(traffic, ep, 30s);
  std::ostringstream report;
  std::map<long, int> refused_by_status;
  for (const auto& p : b.sent)
    if (p.status / 100 != 2) ++refused_by_status[p.status];
  report << "worker restart during pg outage: worker back after " << worker_gap.count()
         << " ms, refused meanwhile " << traffic.refused() - refused_before << " (";
  for (const auto& [status, n] : refused_by_status) report << " " << status << ":" << n;
  report << " ); " << b.audit;
  std::printf("%s\n", report.str().c_str());
  INFO(report.str() << "\n" << stack::tail_file(f.dir().file("worker.log"), 30));
  CHECK(worker_gap >= 4s);  // it did wait for PostgreSQL
  check_books(b.audit, b.settled, traffic.accepted());
  CHECK(st.check_alive().is_ok());
}
