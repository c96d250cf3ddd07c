// In-memory payments table of the processor emulator (see payment_store.hpp).
#include "instrument/emulator/payment_store.hpp"

namespace rinha::emulator {

bool PaymentStore::insert(const Uuid& id, StoredPayment p) {
  std::scoped_lock lock(mu_);
  return rows_.emplace(id, p).second;
}

std::optional<StoredPayment> PaymentStore::find(const Uuid& id) const {
  std::scoped_lock lock(mu_);
  auto it = rows_.find(id);
  if (it == rows_.end()) return std::nullopt;
  return it->second;
}

StoreTotals PaymentStore::summary(std::optional<UtcMicros> from,
                                  std::optional<UtcMicros> to) const {
  const bool all = !from || !to;  // the processor's "OR from IS NULL OR to IS NULL"
  StoreTotals t;
  std::scoped_lock lock(mu_);
  for (const auto& [id, p] : rows_) {
    if (all || (p.requested_at >= *from && p.requested_at <= *to)) {
      ++t.requests;
      t.amount += p.amount;
    }
  }
  return t;
}

void PaymentStore::purge() {
  std::scoped_lock lock(mu_);
  rows_.clear();
}

}  // namespace rinha::emulator
