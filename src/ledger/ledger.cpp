// In-memory ledger: confirmed entries, duplicate guard, window totals, open outcomes.
#include "ledger/ledger.hpp"

namespace rinha::ledger {

bool Ledger::add(const Entry& e) {
  if (!ids_.insert(e.id).second) return false;
  entries_.push_back(e);
  open_.erase(e.id);
  return true;
}

SummaryResult Ledger::summarize(const summary::Window& w) const {
  SummaryResult r;
  for (const Entry& e : entries_) {
    if (!w.contains(e.requested_at)) continue;
    (e.processor == router::Processor::kDefault ? r.totals.default_totals
                                                : r.totals.fallback_totals)
        .add(e.amount);
  }
  for (const auto& [id, at] : open_)
    if (w.contains(UtcMillis{at})) ++r.ambiguous;
  return r;
}

void Ledger::clear() {
  entries_.clear();
  ids_.clear();
  open_.clear();
}

}  // namespace rinha::ledger
