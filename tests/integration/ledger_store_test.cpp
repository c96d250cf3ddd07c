// The ledger against real PostgreSQL: RETURNING tells new rows from old keys (the arbiter of
// duplicates older than the horizon), the trigger keeps exact bucket totals, edge queries use
// the index and exclude what detail counts, a restart loads buckets + recent rows only, a new
// bucket width rebuilds the totals, purge empties both tables. Then a ledger with a tiny horizon
// fed through the store answers old, new and straddling windows exactly to the cent.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "../unit/support/ledger_samples.hpp"
#include "ledger/ledger.hpp"
#include "ledger/postgres_store.hpp"
#include "support/fixture.hpp"

using namespace rinha;
using namespace rinha::ledger;
using namespace rinha::ledger::samples;

TEST_CASE("postgres store: new rows, bucket totals, edges, restart load, purge") {
  testsupport::StackFixture f(testsupport::Parts::postgres_only());
  stack::Postgres& pg = *f.stack().postgres();
  PostgresStore store(pg.url(), 1000);
  REQUIRE(store.open().is_ok());

  // Batch with a repeated id: only the first copy goes in.
  auto first = store.insert(
      {entry(1, 100, 500, Processor::kDefault), entry(2, 250, 1500, Processor::kFallback),
       entry(1, 999, 500, Processor::kDefault), entry(3, 7, -1, Processor::kDefault)});
  REQUIRE(first.is_ok());
  CHECK(*first == std::vector<bool>{true, true, false, true});
  auto again = store.insert(
      {entry(2, 250, 1500, Processor::kFallback), entry(4, 40, 1999, Processor::kFallback)});
  REQUIRE(again.is_ok());
  CHECK(*again == std::vector<bool>{false, true});

  auto buckets = pg.psql(
      "select string_agg(bucket_start_ms || ':' || processor || ':' || requests || ':' || "
      "amount_cents, ' ' order by bucket_start_ms, processor) from ledger_buckets");
  REQUIRE(buckets.is_ok());
  CHECK(*buckets == "-1000:0:1:7 0:0:1:100 1000:1:2:290");

  // The worker's old-duplicate check: exactly the stored ones of the ids asked about.
  auto stored = store.stored_ids({make_id(2), make_id(9), make_id(4)});
  REQUIRE(stored.is_ok());
  std::vector<Uuid> got = *stored, want{make_id(2), make_id(4)};
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  CHECK(got == want);
  auto none = store.stored_ids({make_id(8)});
  REQUIRE(none.is_ok());
  CHECK(none->empty());

  auto r = store.range_totals(EdgeQuery{1000, 1999, {make_id(4)}});
  REQUIRE(r.is_ok());
  CHECK(r->fallback_totals == summary::ProcessorTotals{1, Cents{250}});
  CHECK(r->default_totals == summary::ProcessorTotals{});

  auto loaded = store.load(UtcMillis{1000});
  REQUIRE(loaded.is_ok());
  CHECK(loaded->buckets.size() == 2);
  REQUIRE(loaded->recent.size() == 2);
  CHECK(loaded->recent[0] == entry(2, 250, 1500, Processor::kFallback));
  CHECK(loaded->recent[1] == entry(4, 40, 1999, Processor::kFallback));

  {  // Another bucket width: the totals are rebuilt from the rows at open().
    PostgresStore wide(pg.url(), 5000);
    REQUIRE(wide.open().is_ok());
    auto b = pg.psql(
        "select string_agg(bucket_start_ms || ':' || processor || ':' || requests, "
        "' ' order by bucket_start_ms, processor) from ledger_buckets");
    REQUIRE(b.is_ok());
    CHECK(*b == "-5000:0:1 0:0:1 0:1:2");
  }

  REQUIRE(store.purge().is_ok());
  auto empty = pg.psql(
      "select (select count(*) from ledger) + (select count(*) from "
      "ledger_buckets)");
  REQUIRE(empty.is_ok());
  CHECK(*empty == "0");
}

TEST_CASE("postgres store: two nodes' books in one ledger, one arbiter of duplicates") {
  testsupport::StackFixture f(testsupport::Parts::postgres_only());
  stack::Postgres& pg = *f.stack().postgres();
  // A database made before nodes (the old bucket key, no node columns) is migrated at open().
  REQUIRE(pg.psql("create table ledger_buckets (bucket_start_ms bigint not null, processor "
                  "smallint not null, requests bigint not null, amount_cents bigint not null, "
                  "primary key (bucket_start_ms, processor))")
              .is_ok());
  PostgresStore one(pg.url(), 1000, true, 1), two(pg.url(), 1000, true, 2);
  REQUIRE(one.open().is_ok());
  REQUIRE(two.open().is_ok());
  REQUIRE(one.insert({entry(1, 100, 500, Processor::kDefault),
                      entry(2, 250, 1500, Processor::kFallback)})
              .is_ok());
  // Node 2 stores its own rows in the same buckets; an id node 1 already stored is not new.
  auto second =
      two.insert({entry(3, 40, 600, Processor::kDefault), entry(1, 100, 500, Processor::kDefault),
                  entry(4, 7, 1600, Processor::kFallback)});
  REQUIRE(second.is_ok());
  CHECK(*second == std::vector<bool>{true, false, true});

  // Each restores its own: buckets before since, rows after.
  auto l1 = one.load(UtcMillis{1000});
  auto l2 = two.load(UtcMillis{1000});
  REQUIRE(l1.is_ok());
  REQUIRE(l2.is_ok());
  REQUIRE(l1->buckets.size() == 1);
  CHECK(l1->buckets[0].requests == 1);
  CHECK(l1->buckets[0].amount == Cents{100});
  REQUIRE(l2->buckets.size() == 1);
  CHECK(l2->buckets[0].amount == Cents{40});
  CHECK(l1->recent == std::vector<Entry>{entry(2, 250, 1500, Processor::kFallback)});
  CHECK(l2->recent == std::vector<Entry>{entry(4, 7, 1600, Processor::kFallback)});

  // Edges count their node's rows; the duplicate check sees every node's.
  auto e1 = one.range_totals(EdgeQuery{0, 1999, {}});
  REQUIRE(e1.is_ok());
  CHECK(e1->default_totals == summary::ProcessorTotals{1, Cents{100}});
  CHECK(e1->fallback_totals == summary::ProcessorTotals{1, Cents{250}});
  auto e2 = two.range_totals(EdgeQuery{0, 1999, {}});
  REQUIRE(e2.is_ok());
  CHECK(e2->default_totals == summary::ProcessorTotals{1, Cents{40}});
  CHECK(e2->fallback_totals == summary::ProcessorTotals{1, Cents{7}});
  auto seen = one.stored_ids({make_id(3), make_id(4), make_id(9)});
  REQUIRE(seen.is_ok());
  CHECK(seen->size() == 2);

  {  // A new bucket width rebuilds every node's totals apart.
    PostgresStore wide(pg.url(), 5000, true, 1);
    REQUIRE(wide.open().is_ok());
    auto b = pg.psql(
        "select string_agg(node || ':' || bucket_start_ms || ':' || processor || ':' || requests, "
        "' ' order by node, processor) from ledger_buckets");
    REQUIRE(b.is_ok());
    CHECK(*b == "1:0:0:1 1:0:1:1 2:0:0:1 2:0:1:1");
  }
}

// Exactly-once across nodes (docs/scale-out.md, 3): the first node to claim an id owns it; a node
// gets back its own earlier claims (a batch resent after a crash), never another node's.
TEST_CASE("postgres store: claims give each id one owner node, also when claimed at once") {
  testsupport::StackFixture f(testsupport::Parts::postgres_only());
  stack::Postgres& pg = *f.stack().postgres();
  PostgresStore one(pg.url(), 1000, true, 1), two(pg.url(), 1000, true, 2);
  REQUIRE(one.open().is_ok());
  REQUIRE(two.open().is_ok());
  const auto ids = [](std::initializer_list<uint32_t> ns) {
    std::vector<Uuid> v;
    for (uint32_t n : ns) v.push_back(make_id(n));
    return v;
  };
  const auto sorted = [](Result<std::vector<Uuid>> r) {
    REQUIRE(r.is_ok());
    std::vector<Uuid> v = *r;
    std::sort(v.begin(), v.end());
    return v;
  };
  CHECK(sorted(one.claim(ids({1, 2, 3}))) == ids({1, 2, 3}));
  CHECK(sorted(two.claim(ids({3, 4, 1, 4}))) == ids({4}));
  CHECK(sorted(one.claim(ids({1, 5}))) == ids({1, 5}));
  CHECK(sorted(two.claim(ids({2}))).empty());

  // Two nodes claiming the same fresh batches at the same moment, each on its own connection
  // and in its own order (two apis' arrival orders): every id is owned by exactly one of them,
  // and neither waits on the other into a deadlock.
  for (uint32_t round = 0; round < 30; ++round) {
    std::vector<Uuid> batch;
    for (uint32_t i = 0; i < 500; ++i) batch.push_back(make_id(1000 + round * 500 + i));
    const std::vector<Uuid> reversed(batch.rbegin(), batch.rend());
    Result<std::vector<Uuid>> got1 = Status::unavailable("not run"), got2 = got1;
    std::thread t([&] { got2 = two.claim(reversed); });
    got1 = one.claim(batch);
    t.join();
    INFO((got1.is_ok() ? "" : got1.status().message())
         << (got2.is_ok() ? "" : got2.status().message()));
    REQUIRE(got1.is_ok());
    REQUIRE(got2.is_ok());
    std::set<Uuid> a(got1->begin(), got1->end()), b(got2->begin(), got2->end());
    INFO("round " << round << ": node 1 owns " << a.size() << ", node 2 " << b.size());
    CHECK(a.size() + b.size() == batch.size());
    for (const auto& id : batch) CHECK(a.count(id) + b.count(id) == 1);
  }

  // A purge forgets the claims with the books.
  REQUIRE(one.purge().is_ok());
  CHECK(sorted(two.claim(ids({1, 2}))) == ids({1, 2}));
}

TEST_CASE("tiny horizon through PostgreSQL: every window exact and detail bounded") {
  testsupport::StackFixture f(testsupport::Parts::postgres_only());
  const LedgerConfig cfg{2000, 250};
  PostgresStore store(f.stack().postgres()->url(), cfg.bucket_ms);
  PostgresStore edges(f.stack().postgres()->url(), cfg.bucket_ms, false);
  REQUIRE(store.open().is_ok());
  Ledger l(cfg);
  std::vector<Entry> all, batch;
  size_t max_detail = 0;
  // 3000 payments, one per 5 ms of requestedAt (15 s of history), flushed 50 at a time, with
  // 30 duplicates of folded payments coming back (charged once: the key decides).
  for (uint32_t i = 0; i < 3000; ++i) {
    Entry e = entry(i, 1 + (i * 7919) % 100000, int64_t{i} * 5,
                    i % 4 ? Processor::kDefault : Processor::kFallback);
    if (i % 100 == 99) e = all[i / 2];  // an old one again
    const AddResult a = l.add(e);
    if (a == AddResult::kAdded) all.push_back(e);
    if (a != AddResult::kDuplicate) batch.push_back(e);
    if (batch.size() == 50) {
      auto ins = store.insert(batch);
      REQUIRE(ins.is_ok());
      l.persisted(batch, *ins);
      batch.clear();
    }
    max_detail = std::max(max_detail, l.detail_size());
  }
  auto ins = store.insert(batch);
  REQUIRE(ins.is_ok());
  l.persisted(batch, *ins);
  CHECK(l.size() == static_cast<int64_t>(all.size()));
  CHECK(all.size() == 3000 - 30);
  CHECK(max_detail <= 2000 / 5 + 1 + 50);  // the horizon's payments plus one unflushed batch
  CHECK(l.bucket_count() > 40);

  struct Case {
    int64_t from, to;
  };
  for (Case c : {Case{0, 14999}, Case{1003, 6871}, Case{12990, 14999}, Case{11001, 13377},
                 Case{7250, 7499}, Case{5, 5}, Case{-100, 20000}}) {
    INFO("window " << c.from << ".." << c.to);
    auto r = l.summarize(window(c.from, c.to));
    auto t = resolve_edges(r, &edges);
    REQUIRE(t.is_ok());
    CHECK(*t == brute(all, window(c.from, c.to)));
  }
  CHECK(*resolve_edges(l.summarize(summary::Window{}), nullptr) == brute(all, summary::Window{}));

  // Restart: buckets + recent rows only, and the same answers.
  Ledger restarted(cfg);
  const int64_t since = restore_since(cfg, UtcMillis{14995});
  auto got = store.load(UtcMillis{since});
  REQUIRE(got.is_ok());
  CHECK(got->recent.size() < 600);
  for (const auto& b : got->buckets)
    restarted.restore_bucket(b.bucket_start_ms, b.processor, b.requests, b.amount);
  restarted.restore_folded_until(UtcMillis{since});
  for (const auto& e : got->recent) restarted.restore_recent(e);
  CHECK(restarted.size() == l.size());
  for (Case c : {Case{1003, 6871}, Case{11001, 13377}, Case{14000, 14999}}) {
    INFO("after restart, window " << c.from << ".." << c.to);
    auto t = resolve_edges(restarted.summarize(window(c.from, c.to)), &edges);
    REQUIRE(t.is_ok());
    CHECK(*t == brute(all, window(c.from, c.to)));
  }
}
