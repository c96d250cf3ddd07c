// PostgreSQL store for the ledger (libpqxx 6.4). Config key: database.url (via the caller).
// Batches are one INSERT ... SELECT FROM unnest($1::uuid[], ...) so a 500-row flush is one
// round-trip; ON CONFLICT DO NOTHING makes a flush retried after an unknown commit harmless,
// and RETURNING tells the ledger which rows were new (its arbiter for old duplicates).
// ONE STATEMENT: the steady-state calls (insert, stored_ids, range_totals) are each a single
// statement, atomic by itself (triggers included), so they run without BEGIN/COMMIT: one round
// trip instead of three, i.e. one wake-up of a PostgreSQL backend and of the calling thread
// instead of three, on a core shared with the apis.
#include "ledger/postgres_store.hpp"

#include <algorithm>
#include <pqxx/pqxx>
#include <unordered_set>

namespace rinha::ledger {

struct PostgresStore::Conn {
  explicit Conn(const std::string& url) : c(url) {}
  pqxx::connection c;
};

namespace {

template <typename C, typename F>
Status guarded(std::unique_ptr<C>& conn, const char* what, F&& body) {
  try {
    body();
    return Status::ok();
  } catch (const pqxx::broken_connection& e) {
    conn.reset();  // reopened by the next open()
    return Status::unavailable(std::string(what) + ": connection lost: " + e.what());
  } catch (const std::exception& e) {
    // A statement error may also have left the connection unusable; reopen to be safe.
    conn.reset();
    return Status::io_error(std::string(what) + ": " + e.what());
  }
}

std::string uuid_array(const std::vector<Uuid>& ids) {
  std::string out = "{";
  out.reserve(ids.size() * 37 + 2);
  for (size_t i = 0; i < ids.size(); ++i) (out += i ? "," : "") += format_uuid(ids[i]);
  return out + "}";
}

Processor processor_of(int v) { return v == 0 ? Processor::kDefault : Processor::kFallback; }

}  // namespace

PostgresStore::PostgresStore(std::string url, int64_t bucket_ms, bool manage_schema, int node)
    : url_(std::move(url)), bucket_ms_(bucket_ms), manage_schema_(manage_schema), node_(node) {}
PostgresStore::~PostgresStore() = default;

Status PostgresStore::open() {
  if (conn_ && conn_->c.is_open()) return Status::ok();
  conn_.reset();
  return guarded(conn_, "database open", [&] {
    auto c = std::make_unique<Conn>(url_);
    if (manage_schema_) {
      pqxx::work w{c->c};
      w.exec_params("SELECT pg_advisory_xact_lock($1, $2)", kAdvisoryKey, kSchemaLockId);
      w.exec(schema_sql());
      // Bucket totals kept at another width are rebuilt from the rows (once per change).
      pqxx::result m = w.exec("SELECT bucket_ms FROM ledger_meta");
      if (m.empty() || m[0][0].as<int64_t>() != bucket_ms_) {
        w.exec("DELETE FROM ledger_meta");
        w.exec_params("INSERT INTO ledger_meta (bucket_ms) VALUES ($1)", bucket_ms_);
        w.exec("TRUNCATE ledger_buckets");
        w.exec_params(
            "INSERT INTO ledger_buckets (bucket_start_ms, processor, requests, amount_cents, "
            "node) SELECT requested_at_ms - ((requested_at_ms % $1) + $1) % $1, processor, "
            "count(*), sum(amount_cents), node FROM ledger GROUP BY 1, 2, 5",
            bucket_ms_);
      }
      w.commit();
    }
    conn_ = std::move(c);
  });
}

Result<std::vector<bool>> PostgresStore::insert(const std::vector<Entry>& entries) {
  std::vector<bool> inserted(entries.size(), false);
  if (entries.empty()) return inserted;
  Status s = open();
  if (!s.is_ok()) return s;
  std::string ids = "{", cents = "{", at = "{", proc = "{";
  ids.reserve(entries.size() * 38);
  for (size_t i = 0; i < entries.size(); ++i) {
    const char* sep = i ? "," : "";
    ids += sep + format_uuid(entries[i].id);
    cents += sep + std::to_string(entries[i].amount.value);
    at += sep + std::to_string(entries[i].requested_at.value);
    proc += sep + std::to_string(processor_index(entries[i].processor));
  }
  ids += "}";
  cents += "}";
  at += "}";
  proc += "}";
  s = guarded(conn_, "ledger insert", [&] {
    pqxx::nontransaction w{conn_->c};  // ONE STATEMENT
    pqxx::result rows = w.exec_params(
        "INSERT INTO ledger (correlation_id, amount_cents, requested_at_ms, processor, node) "
        "SELECT *, $5::smallint FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], "
        "$4::smallint[]) ON CONFLICT (correlation_id) DO NOTHING RETURNING correlation_id::text",
        ids, cents, at, proc, node_);
    std::unordered_set<Uuid, UuidHash> fresh;
    for (const auto& row : rows) {
      auto id = parse_uuid(row[0].as<std::string>());
      if (id.is_ok()) fresh.insert(*id);
    }
    // The first copy of an id in the batch is the one that went in.
    for (size_t i = 0; i < entries.size(); ++i) inserted[i] = fresh.erase(entries[i].id) != 0;
  });
  if (!s.is_ok()) return s;
  return inserted;
}

Result<Restored> PostgresStore::load(UtcMillis since) {
  Status s = open();
  if (!s.is_ok()) return s;
  Restored out;
  s = guarded(conn_, "ledger load", [&] {
    pqxx::work r{conn_->c};
    for (const auto& row : r.exec_params("SELECT bucket_start_ms, processor, requests, "
                                         "amount_cents FROM ledger_buckets "
                                         "WHERE bucket_start_ms < $1 AND node = $2",
                                         since.value, node_)) {
      out.buckets.push_back(BucketRow{row[0].as<int64_t>(), processor_of(row[1].as<int>()),
                                      row[2].as<int64_t>(), Cents{row[3].as<int64_t>()}});
    }
    pqxx::result rows = r.exec_params(
        "SELECT correlation_id::text, amount_cents, requested_at_ms, processor FROM ledger "
        "WHERE requested_at_ms >= $1 AND node = $2 ORDER BY requested_at_ms",
        since.value, node_);
    out.recent.reserve(rows.size());
    for (const auto& row : rows) {
      auto id = parse_uuid(row[0].as<std::string>());
      if (!id.is_ok()) throw std::runtime_error("bad uuid in ledger: " + row[0].as<std::string>());
      out.recent.push_back(Entry{*id, Cents{row[1].as<int64_t>()}, UtcMillis{row[2].as<int64_t>()},
                                 processor_of(row[3].as<int>())});
    }
    r.commit();
  });
  if (!s.is_ok()) return s;
  return out;
}

Result<summary::SummaryTotals> PostgresStore::range_totals(const EdgeQuery& q) {
  Status s = open();
  if (!s.is_ok()) return s;
  summary::SummaryTotals t;
  s = guarded(conn_, "ledger range", [&] {
    pqxx::nontransaction r{conn_->c};  // ONE STATEMENT
    for (const auto& row : r.exec_params(
             "SELECT processor, count(*), coalesce(sum(amount_cents), 0)::bigint FROM ledger "
             "WHERE requested_at_ms BETWEEN $1 AND $2 AND node = $4 "
             "AND NOT (correlation_id = ANY($3::uuid[])) GROUP BY processor",
             q.from_ms, q.to_ms, uuid_array(q.exclude), node_)) {
      auto& side = processor_of(row[0].as<int>()) == Processor::kDefault ? t.default_totals
                                                                         : t.fallback_totals;
      side.requests += row[1].as<int64_t>();
      side.amount += Cents{row[2].as<int64_t>()};
    }
  });
  if (!s.is_ok()) return s;
  return t;
}

Result<std::vector<Uuid>> PostgresStore::stored_ids(const std::vector<Uuid>& ids) {
  std::vector<Uuid> found;
  if (ids.empty()) return found;
  Status s = open();
  if (!s.is_ok()) return s;
  s = guarded(conn_, "ledger ids", [&] {
    // Asked for the ids of every hand-off frame the worker accepted within its linger (OLD IDS,
    // worker/dispatcher.cpp) once the ledger may have forgotten ids: see ONE STATEMENT.
    pqxx::nontransaction r{conn_->c};
    for (const auto& row : r.exec_params(
             "SELECT correlation_id::text FROM ledger WHERE correlation_id = ANY($1::uuid[])",
             uuid_array(ids))) {
      auto id = parse_uuid(row[0].as<std::string>());
      if (id.is_ok()) found.push_back(*id);
    }
  });
  if (!s.is_ok()) return s;
  return found;
}

Result<std::vector<Uuid>> PostgresStore::claim(const std::vector<Uuid>& ids) {
  std::vector<Uuid> owned;
  if (ids.empty()) return owned;
  Status s = open();
  if (!s.is_ok()) return s;
  // Every node inserts its ids in one global order (sorted, unnest keeps it): two batches
  // sharing ids in different orders (two apis' arrival orders) would otherwise wait on each
  // other's uncommitted rows, a deadlock PostgreSQL breaks only after deadlock_timeout (1 s),
  // longer than the hand-off's reply timeout.
  std::vector<Uuid> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  s = guarded(conn_, "claim", [&] {
    // ONE STATEMENT. An insert racing another node's for the same key waits for that one's
    // commit and then does nothing; the SELECT reads the snapshot from before this statement,
    // so it adds only this node's earlier claims, never a row the INSERT just made.
    pqxx::nontransaction w{conn_->c};
    for (const auto& row : w.exec_params(
             "WITH fresh AS (INSERT INTO payment_claims (correlation_id, node) "
             "SELECT unnest($1::uuid[]), $2::smallint ON CONFLICT (correlation_id) DO "
             "NOTHING RETURNING correlation_id) "
             "SELECT correlation_id::text FROM fresh UNION ALL SELECT correlation_id::text FROM "
             "payment_claims WHERE correlation_id = ANY($1::uuid[]) AND node = $2",
             uuid_array(sorted), node_)) {
      auto id = parse_uuid(row[0].as<std::string>());
      if (id.is_ok()) owned.push_back(*id);
    }
  });
  if (!s.is_ok()) return s;
  return owned;
}

Status PostgresStore::purge() {
  Status s = open();
  if (!s.is_ok()) return s;
  return guarded(conn_, "ledger purge", [&] {
    pqxx::work w{conn_->c};
    w.exec("TRUNCATE ledger, ledger_buckets, payment_claims");
    w.commit();
  });
}

}  // namespace rinha::ledger
