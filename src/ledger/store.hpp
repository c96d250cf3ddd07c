// Store: where confirmed ledger entries are persisted (PostgreSQL in production, a fake in
// tests). Threading: one Store is used by one thread at a time (the ledger writer thread, or
// the worker before it starts). Every call reports failure as a Status; none throws.
#pragma once

#include <vector>

#include "common/status.hpp"
#include "ledger/ledger.hpp"

namespace rinha::ledger {

class Store {
 public:
  virtual ~Store() = default;
  // (Re)connects if needed and applies the schema (idempotent).
  virtual Status open() = 0;
  // Inserts entries; ids already stored are ignored (a replayed flush is harmless).
  virtual Status insert(const std::vector<Entry>& entries) = 0;
  virtual Result<std::vector<Entry>> load_all() = 0;
  // Deletes every entry.
  virtual Status purge() = 0;
};

}  // namespace rinha::ledger
