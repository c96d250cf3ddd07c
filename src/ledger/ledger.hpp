// Ledger (PURE): every payment confirmed by a processor (correlationId, cents, processor, the
// exact requestedAt sent), authoritative for /payments-summary; plus the set of payments whose
// outcome is still open (in flight or awaiting a lookup), to measure ambiguous summaries.
// Threading: not thread-safe; the worker guards one Ledger with one mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/money.hpp"
#include "common/time.hpp"
#include "common/uuid.hpp"
#include "router/processor_id.hpp"
#include "summary/summary.hpp"

namespace rinha::ledger {

struct Entry {
  Uuid id;
  Cents amount;
  UtcMillis requested_at;  // exactly what the processor stored
  router::Processor processor = router::Processor::kDefault;
  friend bool operator==(const Entry&, const Entry&) = default;
};

struct SummaryResult {
  summary::SummaryTotals totals;
  // Open payments whose requestedAt lies in the window: the processor may or may not have
  // committed them at this instant, so the answer could disagree with its summary.
  int64_t ambiguous = 0;
};

class Ledger {
 public:
  // Records a confirmed payment. Returns false (and changes nothing) if the id is already
  // recorded: a payment is counted once, whatever the number of confirmations.
  bool add(const Entry& e);
  bool contains(const Uuid& id) const { return ids_.count(id) != 0; }
  size_t size() const { return entries_.size(); }
  const std::vector<Entry>& entries() const { return entries_; }

  // An outcome becomes open (sent with this requestedAt) or closed (settled or proven absent).
  void open(const Uuid& id, UtcMillis requested_at) { open_[id] = requested_at.value; }
  void close(const Uuid& id) { open_.erase(id); }
  size_t open_count() const { return open_.size(); }

  // O(n) over entries: ~100 us for 100k entries, well inside a summary's budget.
  SummaryResult summarize(const summary::Window& w) const;

  void clear();

 private:
  std::vector<Entry> entries_;
  std::unordered_set<Uuid, UuidHash> ids_;
  std::unordered_map<Uuid, int64_t, UuidHash> open_;
};

}  // namespace rinha::ledger
