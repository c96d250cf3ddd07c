// Completing a ledger summary with the store's answers for its edges. Only the summary thread
// calls it, with a Store (connection) of its own.
#include "ledger/store.hpp"

namespace rinha::ledger {

Result<summary::SummaryTotals> resolve_edges(const SummaryResult& r, Store* store) {
  summary::SummaryTotals t = r.totals;
  if (r.edges.empty()) return t;
  if (store == nullptr) return Status::unavailable("summary edge needs the database");
  for (const EdgeQuery& q : r.edges) {
    auto part = store->range_totals(q);
    if (!part.is_ok()) return part.status();
    t.default_totals.requests += part->default_totals.requests;
    t.default_totals.amount += part->default_totals.amount;
    t.fallback_totals.requests += part->fallback_totals.requests;
    t.fallback_totals.amount += part->fallback_totals.amount;
  }
  return t;
}

}  // namespace rinha::ledger
