// PostgreSQL store for the ledger (libpqxx 6.4). Config key: database.url (via the caller).
// Batches are one INSERT ... SELECT FROM unnest($1::uuid[], ...) so a 500-row flush is one
// round-trip; ON CONFLICT DO NOTHING makes a flush retried after an unknown commit harmless.
#include "ledger/postgres_store.hpp"

#include <pqxx/pqxx>

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

}  // namespace

PostgresStore::PostgresStore(std::string url) : url_(std::move(url)) {}
PostgresStore::~PostgresStore() = default;

Status PostgresStore::open() {
  if (conn_ && conn_->c.is_open()) return Status::ok();
  conn_.reset();
  return guarded(conn_, "database open", [&] {
    auto c = std::make_unique<Conn>(url_);
    pqxx::work w{c->c};
    w.exec(schema_sql());
    w.commit();
    conn_ = std::move(c);
  });
}

Status PostgresStore::insert(const std::vector<Entry>& entries) {
  if (entries.empty()) return Status::ok();
  Status s = open();
  if (!s.is_ok()) return s;
  std::string ids = "{", cents = "{", at = "{", proc = "{";
  ids.reserve(entries.size() * 38);
  for (size_t i = 0; i < entries.size(); ++i) {
    const char* sep = i ? "," : "";
    ids += sep + format_uuid(entries[i].id);
    cents += sep + std::to_string(entries[i].amount.value);
    at += sep + std::to_string(entries[i].requested_at.value);
    proc += sep + std::to_string(router::index(entries[i].processor));
  }
  ids += "}";
  cents += "}";
  at += "}";
  proc += "}";
  return guarded(conn_, "ledger insert", [&] {
    pqxx::work w{conn_->c};
    w.exec_params(
        "INSERT INTO ledger (correlation_id, amount_cents, requested_at_ms, processor) "
        "SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::smallint[]) "
        "ON CONFLICT (correlation_id) DO NOTHING",
        ids, cents, at, proc);
    w.commit();
  });
}

Result<std::vector<Entry>> PostgresStore::load_all() {
  Status s = open();
  if (!s.is_ok()) return s;
  std::vector<Entry> out;
  s = guarded(conn_, "ledger load", [&] {
    pqxx::read_transaction r{conn_->c};
    pqxx::result rows = r.exec(
        "SELECT correlation_id::text, amount_cents, requested_at_ms, processor FROM ledger "
        "ORDER BY requested_at_ms");
    out.reserve(rows.size());
    for (const auto& row : rows) {
      auto id = parse_uuid(row[0].as<std::string>());
      if (!id.is_ok()) throw std::runtime_error("bad uuid in ledger: " + row[0].as<std::string>());
      Entry e;
      e.id = *id;
      e.amount = Cents{row[1].as<int64_t>()};
      e.requested_at = UtcMillis{row[2].as<int64_t>()};
      e.processor =
          row[3].as<int>() == 0 ? router::Processor::kDefault : router::Processor::kFallback;
      out.push_back(e);
    }
  });
  if (!s.is_ok()) return s;
  return out;
}

Status PostgresStore::purge() {
  Status s = open();
  if (!s.is_ok()) return s;
  return guarded(conn_, "ledger purge", [&] {
    pqxx::work w{conn_->c};
    w.exec("TRUNCATE ledger");
    w.commit();
  });
}

}  // namespace rinha::ledger
