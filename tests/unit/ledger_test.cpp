// In-memory ledger, and the batched writer against a fake store (outage, purge ordering).
#include "ledger/ledger.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "ledger/writer.hpp"

using namespace rinha;
using namespace rinha::ledger;
using router::Processor;

namespace {

Uuid make_id(uint32_t n) {
  Uuid u;
  u.bytes[12] = static_cast<uint8_t>(n >> 24);
  u.bytes[13] = static_cast<uint8_t>(n >> 16);
  u.bytes[14] = static_cast<uint8_t>(n >> 8);
  u.bytes[15] = static_cast<uint8_t>(n);
  return u;
}

Entry entry(uint32_t n, int64_t cents, int64_t at, Processor p) {
  return Entry{make_id(n), Cents{cents}, UtcMillis{at}, p};
}

summary::Window window(int64_t from, int64_t to) {
  summary::Window w;
  w.from_ms = from;
  w.to_ms = to;
  return w;
}

class FakeStore : public Store {
 public:
  Status open() override { return up ? Status::ok() : Status::unavailable("down"); }
  Status insert(const std::vector<Entry>& e) override {
    std::scoped_lock l(mu);
    if (!up) return Status::unavailable("down");
    log.push_back("insert " + std::to_string(e.size()));
    rows.insert(rows.end(), e.begin(), e.end());
    return Status::ok();
  }
  Result<std::vector<Entry>> load_all() override {
    std::scoped_lock l(mu);
    return rows;
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

TEST_CASE("window totals are inclusive on both ends and split by processor") {
  Ledger l;
  REQUIRE(l.add(entry(1, 1990, 1000, Processor::kDefault)));
  REQUIRE(l.add(entry(2, 2005, 2000, Processor::kFallback)));
  REQUIRE(l.add(entry(3, 100, 3000, Processor::kDefault)));
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
  Ledger l;
  REQUIRE(l.add(entry(7, 1990, 1000, Processor::kDefault)));
  CHECK_FALSE(l.add(entry(7, 1990, 5000, Processor::kFallback)));
  CHECK(l.size() == 1);
  CHECK(l.contains(make_id(7)));
  CHECK(l.summarize(summary::Window{}).totals.fallback_totals.requests == 0);
}

TEST_CASE("open outcomes inside the window are reported as ambiguous until settled") {
  Ledger l;
  l.open(make_id(1), UtcMillis{1500});
  l.open(make_id(2), UtcMillis{9000});
  CHECK(l.summarize(window(1000, 2000)).ambiguous == 1);
  REQUIRE(l.add(entry(1, 10, 1500, Processor::kDefault)));  // settling closes it
  CHECK(l.summarize(window(1000, 2000)).ambiguous == 0);
  l.close(make_id(2));
  CHECK(l.open_count() == 0);
  l.clear();
  CHECK(l.size() == 0);
  CHECK_FALSE(l.contains(make_id(1)));
}

TEST_CASE("writer persists in batches and keeps rows through a store outage") {
  FakeStore store;
  WriterConfig cfg;
  cfg.batch_size = 3;
  cfg.flush_interval_ms = 10;
  cfg.retry_min_ms = 5;
  cfg.retry_max_ms = 20;
  std::atomic<int> persisted{0};
  LedgerWriter w(store, cfg,
                 [&](const std::vector<Entry>& b) { persisted += static_cast<int>(b.size()); });
  w.start();
  store.up = false;
  for (uint32_t i = 0; i < 7; ++i) w.enqueue(entry(i, 100, i, Processor::kDefault));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(store.count() == 0);
  CHECK(w.pending() == 7);
  CHECK(w.stats().store_errors.load() > 0);
  store.up = true;
  REQUIRE(eventually([&] { return store.count() == 7; }));
  CHECK(persisted.load() == 7);
  CHECK(w.pending() == 0);
  w.stop();
  for (const auto& line : store.log) CHECK((line == "insert 3" || line == "insert 1"));
}

TEST_CASE("purge drops unwritten rows and truncates before later rows are written") {
  FakeStore store;
  WriterConfig cfg;
  cfg.batch_size = 100;
  cfg.flush_interval_ms = 10;
  cfg.retry_min_ms = 5;
  cfg.retry_max_ms = 20;
  LedgerWriter w(store, cfg);
  w.start();
  w.enqueue(entry(1, 100, 1, Processor::kDefault));
  REQUIRE(eventually([&] { return store.count() == 1; }));
  store.up = false;
  w.enqueue(entry(2, 100, 2, Processor::kDefault));
  w.request_purge();
  w.enqueue(entry(3, 100, 3, Processor::kFallback));
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
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
