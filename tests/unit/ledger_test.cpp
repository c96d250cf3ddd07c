// In-memory ledger, and the batched writer against a fake store (outage, purge ordering).
#include "ledger/ledger.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "config/config.hpp"
#include "ledger/writer.hpp"
#include "support/ledger_samples.hpp"

using namespace rinha;
using namespace rinha::ledger;
using namespace rinha::ledger::samples;

namespace {

// What the worker builds from the shipped defaults.
LedgerConfig shipped() { return ledger_config(config::Config{}); }

// The shipped writer with short waits, so that a flush, an outage and its end take milliseconds.
WriterConfig quick_writer(int batch_size) {
  WriterConfig cfg = writer_config(config::Config{});
  cfg.batch_size = batch_size;
  cfg.flush_interval_ms = 10;
  cfg.retry_min_ms = 5;
  cfg.retry_max_ms = 20;
  return cfg;
}

class FakeStore : public Store {
 public:
  Status open() override { return up ? Status::ok() : Status::unavailable("down"); }
  Result<std::vector<bool>> insert(const std::vector<Entry>& e) override {
    std::scoped_lock l(mu);
    if (!up) return Status::unavailable("down");
    log.push_back("insert " + std::to_string(e.size()));
    rows.insert(rows.end(), e.begin(), e.end());
    return std::vector<bool>(e.size(), true);
  }
  Result<Restored> load(UtcMillis) override { return Restored{}; }
  Result<summary::SummaryTotals> range_totals(const EdgeQuery&) override {
    return Status::unavailable("not used");
  }
  Result<std::vector<Uuid>> stored_ids(const std::vector<Uuid>&) override {
    return Status::unavailable("not used");
  }
  Result<std::vector<Uuid>> claim(const std::vector<Uuid>&) override {
    return Status::unavailable("not used");
  }
  Status purge() override {
    std::scoped_lock l(mu);
    if (!up) return Status::unavailable("down");
    log.push_back("purge");
    rows.clear();
    return Status::ok();
  }
  size_t count() {
    std::scoped_lock l(mu);
    return rows.size();
  }
  std::atomic<bool> up{true};
  std::mutex mu;
  std::vector<Entry> rows;
  std::vector<std::string> log;
};

template <typename F>
bool eventually(F&& f) {
  for (int i = 0; i < 400; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return f();
}

}  // namespace

TEST_CASE("the ledger's and the writer's settings are config::Config's ledger.* keys") {
  config::Config c;
  c.ledger.horizon_ms = 3000;
  c.ledger.bucket_ms = 500;
  c.ledger.batch_size = 7;
  c.ledger.flush_interval_ms = 9;
  const LedgerConfig l = ledger_config(c);
  CHECK(l.horizon_ms == 3000);
  CHECK(l.bucket_ms == 500);
  const WriterConfig w = writer_config(c);
  CHECK(w.batch_size == 7);
  CHECK(w.flush_interval_ms == 9);
}

TEST_CASE("window totals are inclusive on both ends and split by processor") {
  Ledger l(shipped());
  REQUIRE(l.add(entry(1, 1990, 1000, Processor::kDefault)) == AddResult::kAdded);
  REQUIRE(l.add(entry(2, 2005, 2000, Processor::kFallback)) == AddResult::kAdded);
  REQUIRE(l.add(entry(3, 100, 3000, Processor::kDefault)) == AddResult::kAdded);
  auto r = l.summarize(window(1000, 2000));
  CHECK(r.totals.default_totals.requests == 1);
  CHECK(r.totals.default_totals.amount.value == 1990);
  CHECK(r.totals.fallback_totals.requests == 1);
  CHECK(r.totals.fallback_totals.amount.value == 2005);
  auto all = l.summarize(summary::Window{});
  CHECK(all.totals.default_totals.requests == 2);
  CHECK(all.totals.default_totals.amount.value == 2090);
  CHECK(l.summarize(window(3001, 2000)).totals == summary::SummaryTotals{});
}

TEST_CASE("a payment is counted once") {
  Ledger l(shipped());
  REQUIRE(l.add(entry(7, 1990, 1000, Processor::kDefault)) == AddResult::kAdded);
  CHECK(l.add(entry(7, 1990, 5000, Processor::kFallback)) == AddResult::kDuplicate);
  CHECK(l.size() == 1);
  CHECK(l.contains(make_id(7)));
  CHECK(l.summarize(summary::Window{}).totals.fallback_totals.requests == 0);
}

TEST_CASE("open outcomes inside the window are reported as ambiguous until settled") {
  Ledger l(shipped());
  l.open(make_id(1), UtcMillis{1500});
  l.open(make_id(2), UtcMillis{9000});
  CHECK(l.summarize(window(1000, 2000)).ambiguous == 1);
  // Only those a lookup must settle by then are listed; the others are counted as waiting.
  const SteadyTime t0{};
  l.open(make_id(3), UtcMillis{1600}, t0 + std::chrono::milliseconds(100));
  int64_t waiting = -1;
  CHECK(l.open_in(window(1000, 2000), t0, &waiting) == std::vector<Uuid>{make_id(1)});
  CHECK(waiting == 1);
  CHECK(l.open_in(window(1000, 2000), t0 + std::chrono::milliseconds(100), &waiting).size() == 2);
  CHECK(waiting == 0);
  CHECK(l.summarize(window(1000, 2000)).ambiguous == 2);
  l.close(make_id(3));
  REQUIRE(l.add(entry(1, 10, 1500, Processor::kDefault)) == AddResult::kAdded);  // closes it
  CHECK(l.summarize(window(1000, 2000)).ambiguous == 0);
  l.close(make_id(2));
  CHECK(l.open_count() == 0);
  l.clear();
  CHECK(l.size() == 0);
  CHECK_FALSE(l.contains(make_id(1)));
}

TEST_CASE("writer persists in batches and keeps rows through a store outage") {
  FakeStore store;
  std::atomic<int> persisted{0};
  LedgerWriter w(store, quick_writer(3),
                 [&](const std::vector<Entry>& b, const std::vector<bool>& inserted) {
                   CHECK(inserted.size() == b.size());
                   persisted += static_cast<int>(b.size());
                 });
  w.start();
  store.up = false;
  for (uint32_t i = 0; i < 7; ++i) w.enqueue(entry(i, 100, i, Processor::kDefault));
  REQUIRE(eventually([&] { return w.stats().store_errors.load() > 0; }));  // met the outage
  CHECK(store.count() == 0);
  CHECK(w.pending() == 7);
  store.up = true;
  REQUIRE(eventually([&] { return store.count() == 7; }));
  CHECK(persisted.load() == 7);
  CHECK(w.pending() == 0);
  w.stop();
  for (const auto& line : store.log) CHECK((line == "insert 3" || line == "insert 1"));
}

TEST_CASE("purge drops unwritten rows and truncates before later rows are written") {
  FakeStore store;
  LedgerWriter w(store, quick_writer(100));
  w.start();
  w.enqueue(entry(1, 100, 1, Processor::kDefault));
  REQUIRE(eventually([&] { return store.count() == 1; }));
  store.up = false;
  w.enqueue(entry(2, 100, 2, Processor::kDefault));
  w.request_purge();
  w.enqueue(entry(3, 100, 3, Processor::kFallback));
  REQUIRE(eventually([&] { return w.stats().store_errors.load() > 0; }));  // tried while down
  store.up = true;
  REQUIRE(eventually([&] {
    std::scoped_lock l(store.mu);
    return store.rows.size() == 1 && store.rows[0].id == make_id(3);
  }));
  w.stop();
  std::scoped_lock l(store.mu);
  REQUIRE(store.log.size() >= 2);
  CHECK(store.log[store.log.size() - 2] == "purge");
}

// ---- horizon: detail, folded buckets, edges, arbitration -------------------------------------

namespace {

// The store as the ledger sees it: every row committed, keyed by id (first insert wins), and
// edge queries answered from those rows, as PostgresStore does.
struct RowSet {
  std::vector<Entry> rows;
  std::unordered_set<Uuid, UuidHash> keys;
  std::vector<bool> insert(const std::vector<Entry>& batch) {
    std::vector<bool> inserted;
    for (const Entry& e : batch) {
      const bool fresh = keys.insert(e.id).second;
      if (fresh) rows.push_back(e);
      inserted.push_back(fresh);
    }
    return inserted;
  }
  summary::SummaryTotals answer(const SummaryResult& r) const {
    summary::SummaryTotals t = r.totals;
    for (const EdgeQuery& q : r.edges)
      for (const Entry& e : rows) {
        if (e.requested_at.value < q.from_ms || e.requested_at.value > q.to_ms) continue;
        if (std::find(q.exclude.begin(), q.exclude.end(), e.id) != q.exclude.end()) continue;
        (e.processor == Processor::kDefault ? t.default_totals : t.fallback_totals).add(e.amount);
      }
    return t;
  }
};

// Adds and persists one payment per 10 ms of requestedAt from 0 to n*10 (cents = 100 + i).
std::vector<Entry> feed(Ledger& l, RowSet& db, uint32_t n) {
  std::vector<Entry> all;
  for (uint32_t i = 0; i < n; ++i) {
    Entry e =
        entry(i, 100 + i, int64_t{i} * 10, i % 3 ? Processor::kDefault : Processor::kFallback);
    REQUIRE(l.add(e) == AddResult::kAdded);
    all.push_back(e);
    l.persisted({e}, db.insert({e}));
  }
  return all;
}

}  // namespace

TEST_CASE("payments older than the horizon are folded into buckets and windows stay exact") {
  Ledger l(LedgerConfig{1000, 250});
  RowSet db;
  auto all = feed(l, db, 1000);  // requestedAt 0 .. 9990 ms
  CHECK(l.size() == 1000);
  // Newest 9990: detail keeps requestedAt >= 8990, i.e. 101 payments.
  CHECK(l.detail_size() == 101);
  CHECK(l.bucket_count() == 36);  // 0 .. 8989 ms in 250 ms buckets
  struct Case {
    const char* name;
    int64_t from, to;
    bool needs_store;
  };
  for (Case c : {Case{"old, bucket-aligned", 1000, 2999, false},
                 Case{"old, edges inside buckets", 1003, 2871, true},
                 Case{"new", 9100, 9870, false}, Case{"straddling the horizon", 8510, 9500, true},
                 Case{"one old bucket cut on both sides", 1010, 1020, true},
                 Case{"empty", 20000, 30000, false}, Case{"reversed", 5000, 4000, false}}) {
    INFO(c.name);
    auto r = l.summarize(window(c.from, c.to));
    CHECK(!r.edges.empty() == c.needs_store);
    CHECK(db.answer(r) == brute(all, window(c.from, c.to)));
  }
  auto r = l.summarize(summary::Window{});
  CHECK(r.edges.empty());
  CHECK(r.totals == brute(all, summary::Window{}));
}

TEST_CASE("an unpersisted payment is never folded: edge queries could not see it") {
  Ledger l(LedgerConfig{1000, 250});
  REQUIRE(l.add(entry(1, 500, 0, Processor::kDefault)) == AddResult::kAdded);
  REQUIRE(l.add(entry(2, 700, 5000, Processor::kDefault)) == AddResult::kAdded);
  l.persisted({entry(2, 700, 5000, Processor::kDefault)}, {true});
  CHECK(l.detail_size() == 2);  // payment 1 is old but not in the store yet
  CHECK(l.contains(make_id(1)));
  l.persisted({entry(1, 500, 0, Processor::kDefault)}, {true});
  CHECK(l.detail_size() == 1);
  CHECK_FALSE(l.contains(make_id(1)));  // forgotten: only the store knows it now
  CHECK(l.size() == 2);
  CHECK(l.summarize(window(0, 0)).edges.size() == 1);  // 0 is folded in a cut bucket [0, 249]
  CHECK(l.summarize(window(0, 249)).totals.default_totals.amount.value == 500);
}

TEST_CASE("a duplicate older than the horizon is charged once: the store's key decides") {
  Ledger l(LedgerConfig{1000, 250});
  RowSet db;
  auto all = feed(l, db, 300);            // ids 0..299, requestedAt 0 .. 2990
  REQUIRE_FALSE(l.contains(make_id(5)));  // folded away
  const auto before = l.summarize(summary::Window{}).totals;

  // Payment 5 again (e.g. a client re-sent it and a lookup returned the processor's record).
  const Entry again = all[5];
  REQUIRE(l.add(again) == AddResult::kArbiter);
  CHECK(l.add(again) == AddResult::kDuplicate);  // a second copy waits for the same verdict
  CHECK(l.summarize(window(0, 100)).ambiguous == 1);
  CHECK(l.summarize(summary::Window{}).totals == before);
  l.persisted({again}, db.insert({again}));
  CHECK(l.arbiter_count() == 0);
  CHECK(l.summarize(summary::Window{}).totals == before);  // the key existed: not counted
  CHECK(db.answer(l.summarize(window(0, 100))) == brute(all, window(0, 100)));

  // A payment really new but this old (settled after a restart by a lookup) counts once stored.
  const Entry late = entry(5000, 999, 40, Processor::kFallback);
  REQUIRE(l.add(late) == AddResult::kArbiter);
  CHECK(db.answer(l.summarize(window(0, 100))) == brute(all, window(0, 100)));  // not yet
  l.persisted({late}, db.insert({late}));
  all.push_back(late);
  CHECK(db.answer(l.summarize(window(0, 100))) == brute(all, window(0, 100)));
  CHECK(l.summarize(summary::Window{}).totals == brute(all, summary::Window{}));
  // A newer-than-folded payment is never sent to the arbiter.
  CHECK(l.add(entry(6000, 1, 2995, Processor::kDefault)) == AddResult::kAdded);
}

TEST_CASE("random traffic: memory stays under the horizon and every window is exact") {
  Ledger l(LedgerConfig{2000, 300});
  RowSet db;
  std::vector<Entry> all, unpersisted, arbitrated;
  uint64_t x = 42;
  auto rnd = [&x](uint64_t n) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (x >> 33) % n;
  };
  size_t max_detail = 0;
  for (uint32_t i = 0; i < 20000; ++i) {
    // requestedAt ~2 per ms with settle jitter up to 400 ms; a few duplicates, some very late.
    int64_t at = i / 2 + static_cast<int64_t>(rnd(400));
    Entry e = entry(i, 1 + static_cast<int64_t>(rnd(100000)), at,
                    rnd(4) ? Processor::kDefault : Processor::kFallback);
    if (i > 100 && rnd(50) == 0) e = all[rnd(all.size())];  // duplicate of any age
    const AddResult a = l.add(e);
    if (a != AddResult::kDuplicate) unpersisted.push_back(e);
    if (a == AddResult::kAdded) all.push_back(e);
    if (a == AddResult::kArbiter) arbitrated.push_back(e);
    if (rnd(20) == 0) {  // a batch commits
      auto inserted = db.insert(unpersisted);
      for (size_t k = 0; k < unpersisted.size(); ++k)
        if (inserted[k] &&
            std::find(arbitrated.begin(), arbitrated.end(), unpersisted[k]) != arbitrated.end())
          all.push_back(unpersisted[k]);
      l.persisted(unpersisted, inserted);
      unpersisted.clear();
    }
    max_detail = std::max(max_detail, l.detail_size());
  }
  l.persisted(unpersisted, db.insert(unpersisted));
  CHECK(!arbitrated.empty());  // the run did exercise old duplicates
  CHECK(db.rows.size() == all.size());
  CHECK(static_cast<size_t>(l.size()) == all.size());
  // Rate 2/ms over a 2000 ms horizon + jitter + batching: well under 6000 in detail.
  CHECK(max_detail < 6000);
  CHECK(l.detail_size() < 6000);
  for (int k = 0; k < 300; ++k) {
    int64_t from = static_cast<int64_t>(rnd(11000)) - 500;
    int64_t to = from + static_cast<int64_t>(rnd(4000));
    INFO("window " << from << ".." << to);
    REQUIRE(db.answer(l.summarize(window(from, to))) == brute(all, window(from, to)));
  }
}

TEST_CASE("restart restores bucket totals and the recent detail") {
  Ledger l(LedgerConfig{1000, 250});
  l.restore_bucket(0, Processor::kDefault, 3, Cents{300});
  l.restore_bucket(250, Processor::kFallback, 2, Cents{50});
  l.restore_folded_until(UtcMillis{500});
  l.restore_recent(entry(9, 70, 600, Processor::kDefault));
  CHECK(l.size() == 6);
  CHECK(l.detail_size() == 1);
  auto all = l.summarize(summary::Window{}).totals;
  CHECK(all.default_totals == summary::ProcessorTotals{4, Cents{370}});
  CHECK(all.fallback_totals == summary::ProcessorTotals{2, Cents{50}});
  CHECK(l.summarize(window(0, 499)).edges.empty());
  CHECK(l.add(entry(10, 1, 499, Processor::kDefault)) == AddResult::kArbiter);
  CHECK(l.add(entry(9, 70, 600, Processor::kDefault)) == AddResult::kDuplicate);
  CHECK(l.add(entry(11, 1, 500, Processor::kDefault)) == AddResult::kAdded);
}
