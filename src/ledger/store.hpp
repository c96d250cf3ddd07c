// Store: where confirmed ledger entries are persisted (PostgreSQL in production, a fake in
// tests), and what the Ledger cannot answer from memory: window edges inside folded buckets,
// the verdict on possible old duplicates (before sending and after), and the folded state at
// restart. Threading: one Store is used by one thread at a time (the ledger writer thread, the
// worker before it starts, or the summary thread with a Store of its own). Every call reports
// failure as a Status; none throws.
#pragma once

#include <vector>

#include "common/status.hpp"
#include "ledger/ledger.hpp"

namespace rinha::ledger {

// One bucket's totals for one processor, as stored.
struct BucketRow {
  int64_t bucket_start_ms = 0;
  Processor processor = Processor::kDefault;
  int64_t requests = 0;
  Cents amount;
};

// What a restart needs: bucket totals older than `since`, and every row from `since` on.
struct Restored {
  std::vector<BucketRow> buckets;
  std::vector<Entry> recent;  // ordered by requestedAt
};

class Store {
 public:
  virtual ~Store() = default;
  // (Re)connects if needed and applies the schema (idempotent).
  virtual Status open() = 0;
  // Inserts entries; ids already stored are ignored (a replayed flush is harmless). On success,
  // inserted[i] says whether entries[i] became a new row (false for a key already stored, or
  // met earlier in the same batch).
  virtual Result<std::vector<bool>> insert(const std::vector<Entry>& entries) = 0;
  // since: a multiple of the bucket width. Cost: the buckets plus the rows from `since` on.
  virtual Result<Restored> load(UtcMillis since) = 0;
  // Totals of the rows with requestedAt in [q.from_ms, q.to_ms] whose id is not in q.exclude.
  virtual Result<summary::SummaryTotals> range_totals(const EdgeQuery& q) = 0;
  // Which of ids have a row (any processor, any age): the arbiter for an id the Ledger may have
  // folded away. Cost: one indexed lookup per id.
  virtual Result<std::vector<Uuid>> stored_ids(const std::vector<Uuid>& ids) = 0;
  // Cluster mode (docs/scale-out.md, 3): claims ids for this store's node, atomically per id
  // against every other node on the database, and returns those this node owns (claimed now,
  // or by this node earlier: a batch resent after a crash); the rest are another node's.
  virtual Result<std::vector<Uuid>> claim(const std::vector<Uuid>& ids) = 0;
  // Deletes every entry (and every claim).
  virtual Status purge() = 0;
};

// The exact totals of a summary: r.totals plus each of r.edges asked of the store. Fails if an
// edge is needed and the store is null or fails.
Result<summary::SummaryTotals> resolve_edges(const SummaryResult& r, Store* store);

}  // namespace rinha::ledger
