// The dispatcher (worker loop) driven turn by turn on a ManualClock against two scripted
// in-memory processors (tests/support/fake_processors.hpp): no socket, no sleep. Confirmation,
// 422, 5xx, timeouts while the processor inserts, routing on failure and recovery, purge,
// ambiguous summaries, journal-replay reconciliation, and the consistency oracle: at sampled
// instants our summary of the checker's window equals what the processors have committed.
#include <catch2/catch.hpp>
#include <optional>

#include "support/fake_processors.hpp"
#include "worker/dispatcher.hpp"

using namespace rinha;
using namespace rinha::worker;
using rinha::router::Processor;
using rinha::testsupport::FakeProcessors;
using std::chrono::milliseconds;

namespace {

constexpr Processor kDef = Processor::kDefault;
constexpr Processor kFb = Processor::kFallback;

class NullStore : public ledger::Store {
 public:
  Status open() override { return Status::ok(); }
  Status insert(const std::vector<ledger::Entry>&) override { return Status::ok(); }
  Result<std::vector<ledger::Entry>> load_all() override { return std::vector<ledger::Entry>{}; }
  Status purge() override { return Status::ok(); }
};

handoff::AcceptedPayment payment(int n, int64_t cents = 1990) {
  Uuid u;
  u.bytes[0] = 0x42;
  u.bytes[13] = static_cast<uint8_t>(n >> 16);
  u.bytes[14] = static_cast<uint8_t>(n >> 8);
  u.bytes[15] = static_cast<uint8_t>(n);
  return {u, Cents{cents}, UtcMillis{0}};
}

// The worker's parts wired as in run(), the loop turned by the test. The writer thread is not
// started: settled entries wait in it (pending()), which is what persistence would be handed.
struct Rig {
  Rig() { restart(); }
  static DispatcherConfig config() {
    DispatcherConfig c;
    c.recheck_ms = 100;
    c.lookup_timeout_ms = 1000;
    c.stats_log_ms = 0;
    c.drain_ms = 0;
    c.reconcile_delay_ms = 0;
    return c;
  }
  // A new dispatcher on the same ledger (a fresh one after a crash loses nothing persisted).
  void restart(DispatcherConfig c = config()) {
    d.reset();
    d.emplace(c, clock, procs, ledger, ledger_mu, writer, stats);
  }
  void turn() { procs.run_once(d->step()); }
  // Turns until pred() or max_ms of manual time.
  template <typename F>
  bool run_until(F pred, int max_ms = 10'000) {
    const SteadyTime end = clock.now_steady() + milliseconds(max_ms);
    while (!pred()) {
      if (clock.now_steady() >= end) return false;
      turn();
    }
    return true;
  }
  void run_for(int ms) {
    const SteadyTime end = clock.now_steady() + milliseconds(ms);
    while (clock.now_steady() < end) turn();
  }
  summary::SummaryTotals totals(summary::Window w = {}) { return d->summarize(w).value(); }
  int64_t settled() {
    auto t = totals();
    return t.default_totals.requests + t.fallback_totals.requests;
  }
  // The checker's window at this instant.
  summary::Window check_window() const {
    const int64_t now = clock.now_utc().value;
    return summary::Window{now - 15'000, now - 2'000};
  }

  ManualClock clock{UtcMillis{1'752'150'000'000}};
  FakeProcessors procs{clock};
  ledger::Ledger ledger;
  std::mutex ledger_mu;
  NullStore store;
  ledger::LedgerWriter writer{store, ledger::WriterConfig{}};
  Stats stats;
  std::optional<Dispatcher> d;
};

std::vector<handoff::AcceptedPayment> payments(int from, int n) {
  std::vector<handoff::AcceptedPayment> v;
  for (int i = from; i < from + n; ++i) v.push_back(payment(i));
  return v;
}

}  // namespace

TEST_CASE("confirmed payments are counted once - with the requestedAt that was sent") {
  Rig rig;
  rig.procs.script(kDef).latency_ms = 20;
  const int64_t sent_at = rig.clock.now_utc().value;
  REQUIRE(rig.d->accept(payments(0, 20)).is_ok());
  REQUIRE(rig.d->accept({payment(3)}).is_ok());  // the same id again: not processed twice
  REQUIRE(rig.run_until([&] { return rig.settled() == 20; }));
  rig.run_for(100);
  CHECK(rig.procs.posts(kDef) == 20);
  CHECK(rig.procs.posts(kFb) == 0);
  CHECK(rig.totals().default_totals.amount.value == 20 * 1990);
  CHECK(rig.stats.duplicates_ignored == 1);
  CHECK(rig.totals() == rig.procs.summary());
  CHECK(rig.writer.pending() == 20);  // each handed to persistence once
  // Stamped at send time + expected latency + margin, never earlier; a 1 ms window around the
  // processor's stored requestedAt finds it in ours.
  auto stored = rig.procs.stored(kDef, payment(7).id);
  REQUIRE(stored);
  CHECK(stored->requested_at.value >= sent_at + Rig::config().requested_at_margin_ms);
  summary::Window w{stored->requested_at.value, stored->requested_at.value};
  CHECK(rig.totals(w) == rig.procs.summary(w));
  CHECK(rig.totals(w).default_totals.requests >= 1);
}

TEST_CASE("422: counted with the amount and requestedAt the processor stored") {
  Rig rig;
  const auto p = payment(1);
  rig.procs.store(kDef, p.id, Cents{1990}, UtcMillis{1752150896789});
  REQUIRE(rig.d->accept({p}).is_ok());
  REQUIRE(rig.run_until([&] { return rig.settled() == 1; }));
  summary::Window w{1752150896789, 1752150896789};
  CHECK(rig.totals(w).default_totals.requests == 1);
  CHECK(rig.stats.duplicate_422[0] == 1);
  CHECK(rig.procs.lookups(kDef) == 1);
  CHECK(rig.procs.posts(kFb) == 0);
  CHECK(rig.totals() == rig.procs.summary());
}

TEST_CASE("500: looked up on that processor - proven absent - retried - counted once") {
  Rig rig;
  rig.procs.script(kDef).failing = true;
  REQUIRE(rig.d->accept(payments(0, 10)).is_ok());
  REQUIRE(rig.run_until([&] { return rig.settled() == 10; }));
  rig.run_for(200);
  auto t = rig.totals();
  CHECK(t.fallback_totals.requests == 10);
  CHECK(t.default_totals.requests == 0);
  CHECK(rig.procs.stored_count(kDef) == 0);
  // Every 500 was followed by a lookup at the default before the payment moved on.
  CHECK(rig.stats.server_errors[0] >= 1);
  CHECK(rig.procs.lookups(kDef) == rig.stats.server_errors[0].load());
  CHECK(rig.stats.lookup_absent == rig.stats.server_errors[0].load());
  CHECK(t == rig.procs.summary());
}

TEST_CASE("timeout while the processor inserts: found by lookup - never sent elsewhere") {
  Rig rig;
  rig.procs.script(kDef).timeout_ms = 200;  // the default stores, then answers after 600 ms
  rig.procs.script(kDef).latency_ms = 50;
  rig.procs.script(kDef).reply_after_commit_ms = 550;
  REQUIRE(rig.d->accept({payment(1), payment(2)}).is_ok());
  REQUIRE(rig.run_until([&] { return rig.settled() == 2; }));
  CHECK(rig.stats.unknown[0] == 2);
  CHECK(rig.stats.lookup_found == 2);
  CHECK(rig.procs.posts(kFb) == 0);
  CHECK(rig.procs.posts(kDef) == 2);
  CHECK(rig.totals() == rig.procs.summary());
}

TEST_CASE("timeout before the processor inserts: absent twice - then sent again") {
  Rig rig;
  rig.procs.script(kDef).timeout_ms = 100;
  rig.procs.script(kDef).failing = true;  // nothing is ever stored, answers too late
  rig.procs.script(kDef).latency_ms = 300;
  REQUIRE(rig.d->accept({payment(1)}).is_ok());
  REQUIRE(rig.run_until([&] { return rig.settled() == 1; }));
  CHECK(rig.stats.unknown[0] >= 1);
  CHECK(rig.procs.lookups(kDef) >= 2);  // absence believed only when two lookups agree
  CHECK(rig.totals().fallback_totals.requests == 1);
  CHECK(rig.totals() == rig.procs.summary());
}

TEST_CASE(
    "routing: a failing default sends traffic to the fallback - its recovery brings it back") {
  Rig rig;
  rig.procs.script(kDef).failing = true;
  rig.run_for(50);  // first health answers: default failing
  REQUIRE(rig.d->accept(payments(0, 30)).is_ok());
  REQUIRE(rig.run_until([&] { return rig.settled() == 30; }));
  CHECK(rig.totals().fallback_totals.requests >= 25);
  rig.procs.script(kDef).failing = false;
  rig.run_for(6'000);  // a probe or the next health poll sees the recovery
  REQUIRE(rig.d->accept(payments(100, 30)).is_ok());
  REQUIRE(rig.run_until([&] { return rig.settled() == 60; }));
  CHECK(rig.totals().default_totals.requests >= 30);
  CHECK(rig.totals() == rig.procs.summary());
  CHECK(rig.stats.given_up == 0);
}

TEST_CASE(
    "routing: a default slower than router.slow_default_ms loses traffic to a fast fallback") {
  Rig rig;
  rig.procs.script(kDef).latency_ms = 2'000;
  rig.procs.script(kDef).min_response_ms = 2'000;
  rig.procs.script(kDef).timeout_ms = 10'000;
  rig.run_for(50);
  REQUIRE(rig.d->accept(payments(0, 40)).is_ok());
  REQUIRE(rig.run_until([&] { return rig.settled() == 40; }));
  CHECK(rig.totals().fallback_totals.requests == 40);
  CHECK(rig.procs.posts(kDef) == 0);
}

TEST_CASE("open payments inside the asked window make the summary ambiguous (metric)") {
  Rig rig;
  rig.procs.script(kDef).latency_ms = 400;
  REQUIRE(rig.d->accept({payment(1)}).is_ok());
  REQUIRE(rig.run_until([&] { return rig.procs.posts(kDef) == 1; }));
  const int64_t now = rig.clock.now_utc().value;
  summary::Window w{now - 10'000, now + 10'000};
  CHECK(rig.totals(w).default_totals.requests == 0);  // not confirmed yet: not counted
  CHECK(rig.stats.ambiguous_summaries == 1);
  CHECK(rig.stats.ambiguous_payments == 1);
  REQUIRE(rig.run_until([&] { return rig.stats.confirmed[0] == 1; }));
  CHECK(rig.totals(w).default_totals.requests == 1);
  CHECK(rig.stats.ambiguous_summaries == 1);  // settled: no longer ambiguous
}

TEST_CASE("purge drops the ledger and the outcomes of payments still in flight") {
  Rig rig;
  REQUIRE(rig.d->accept({payment(1)}).is_ok());
  REQUIRE(rig.run_until([&] { return rig.settled() == 1; }));
  rig.procs.script(kDef).latency_ms = 300;
  REQUIRE(rig.d->accept({payment(2), payment(3)}).is_ok());
  REQUIRE(rig.run_until([&] { return rig.procs.posts(kDef) == 3; }));
  REQUIRE(rig.d->purge().is_ok());
  CHECK(rig.totals() == summary::SummaryTotals{});
  rig.run_for(600);  // their 200s arrive after the purge
  CHECK(rig.totals() == summary::SummaryTotals{});
  CHECK(rig.procs.stored_count(kDef) == 3);
  CHECK(rig.d->backlog() == 0);
  // The worker goes on normally afterwards.
  rig.procs.script(kDef).latency_ms = 10;
  REQUIRE(rig.d->accept({payment(4)}).is_ok());
  REQUIRE(rig.run_until([&] { return rig.settled() == 1; }));
}

TEST_CASE("journal replay: each payment is looked up on both processors before any send") {
  Rig rig;
  const auto at_fb = payment(1), nowhere = payment(2);
  rig.procs.store(kFb, at_fb.id, Cents{1990}, UtcMillis{1752150000000});
  rig.d->reconcile({at_fb, nowhere});
  REQUIRE(rig.run_until([&] {
    auto t = rig.totals();
    return t.fallback_totals.requests == 1 && t.default_totals.requests == 1;
  }));
  CHECK(rig.procs.posts(kFb) == 0);   // found there: settled, not re-sent
  CHECK(rig.procs.posts(kDef) == 1);  // absent on both: sent once
  CHECK(rig.stats.replayed == 2);
  CHECK(rig.totals() == rig.procs.summary());
}

TEST_CASE("consistency oracle: sampled checks agree through latency steps under 2 s and failures") {
  Rig rig;
  rig.procs.script(kDef).timeout_ms = 15'000;
  rig.procs.script(kFb).timeout_ms = 15'000;
  // A few ms between commit and answer, as a real processor's runtime takes: the only gap in
  // which a processor counts a payment that we do not yet.
  rig.procs.script(kDef).reply_after_commit_ms = 3;
  rig.procs.script(kFb).reply_after_commit_ms = 3;
  // (at s, default latency, default failing): official-timeline-like stages.
  struct Stage {
    int at_s, latency_ms;
    bool failing;
  };
  const std::vector<Stage> stages = {{0, 10, false}, {10, 1'000, false}, {20, 20, false},
                                     {25, 50, true}, {30, 100, false},   {40, 1'900, false},
                                     {50, 5, false}};
  int next = 0, stage = 0, checks = 0, mismatches = 0;
  const SteadyTime start = rig.clock.now_steady();
  SteadyTime next_check = start + milliseconds(2'000);
  while (rig.clock.now_steady() < start + milliseconds(60'000)) {
    const auto elapsed = std::chrono::duration_cast<milliseconds>(rig.clock.now_steady() - start);
    while (stage < static_cast<int>(stages.size()) &&
           elapsed.count() >= stages[stage].at_s * 1000) {
      rig.procs.script(kDef).latency_ms = stages[stage].latency_ms;
      rig.procs.script(kDef).failing = stages[stage].failing;
      ++stage;
    }
    REQUIRE(rig.d->accept(payments(next, 2)).is_ok());  // ~2 payments per turn
    next += 2;
    rig.turn();
    if (rig.clock.now_steady() >= next_check) {
      next_check += milliseconds(137);  // checks at every phase of the stages
      ++checks;
      const auto w = rig.check_window();
      if (!(rig.totals(w) == rig.procs.summary(w))) ++mismatches;
    }
  }
  CHECK(checks > 300);
  CHECK(mismatches == 0);
  REQUIRE(rig.run_until([&] { return rig.d->backlog() == 0; }, 30'000));
  CHECK(rig.totals() == rig.procs.summary());
  CHECK(rig.settled() == next);
}
