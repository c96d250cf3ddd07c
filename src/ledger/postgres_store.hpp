// PostgresStore: the ledger's Store on PostgreSQL through libpqxx 6.4. The schema
// (sql/001_schema.sql) is embedded at build time and applied by open(), which also rebuilds
// the bucket totals when ledger.bucket_ms changed since they were kept. Rows go in with one
// multi-row INSERT ... SELECT unnest(arrays) per batch, ON CONFLICT DO NOTHING.
// Threading: one connection, used by one thread at a time. A lost connection is reopened on the
// next call; pqxx exceptions are caught here and returned as Status.
#pragma once

#include <memory>
#include <string>

#include "ledger/store.hpp"

namespace rinha::ledger {

// Advisory locks of rinha on a shared database, (kAdvisoryKey, id) in PostgreSQL's two-int4
// key space: id 0 and 1 lead the polls of the default and fallback processors
// (cluster/shared_health.hpp), kSchemaLockId serializes schema changes of workers that start
// together (concurrent CREATE ... IF NOT EXISTS can fail on the catalog's unique keys).
inline constexpr int kAdvisoryKey = 0x72696e68;  // "rinh"
inline constexpr int kSchemaLockId = 1000;

class PostgresStore final : public Store {
 public:
  // bucket_ms: ledger.bucket_ms. manage_schema false: a second connection (summary edges) that
  // leaves the schema to the writer's. node: cluster.node; rows go in as this node's, and
  // load() and range_totals() read this node's rows and buckets only, while stored_ids() (the
  // arbiter of duplicates) sees every node's; claim() claims for it.
  PostgresStore(std::string url, int64_t bucket_ms, bool manage_schema = true, int node = 0);
  ~PostgresStore() override;

  Status open() override;
  Result<std::vector<bool>> insert(const std::vector<Entry>& entries) override;
  Result<Restored> load(UtcMillis since) override;
  Result<summary::SummaryTotals> range_totals(const EdgeQuery& q) override;
  Result<std::vector<Uuid>> stored_ids(const std::vector<Uuid>& ids) override;
  Result<std::vector<Uuid>> claim(const std::vector<Uuid>& ids) override;
  Status purge() override;

 private:
  struct Conn;  // wraps pqxx::connection (a typedef in 6.4, so it cannot be forward-declared)
  std::string url_;
  int64_t bucket_ms_;
  bool manage_schema_;
  int node_;
  std::unique_ptr<Conn> conn_;
};

// The embedded schema text (sql/001_schema.sql).
const char* schema_sql();

}  // namespace rinha::ledger
