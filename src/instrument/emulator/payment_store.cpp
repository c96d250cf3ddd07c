// In-memory payments table of the processor emulator (see payment_store.hpp).
#include "instrument/emulator/payment_store.hpp"

namespace rinha::emulator {

bool PaymentStore::insert(const Uuid& id, StoredPayment p) {
  std::scoped_lock lock(mu_);
  if (!rows_.emplace(id, p).second) return false;
  StoreTotals& at = by_time_[p.requested_at.value];
  ++at.requests;
  at.amount += p.amount;
  ++all_.requests;
  all_.amount += p.amount;
  return true;
}

std::optional<StoredPayment> PaymentStore::find(const Uuid& id) const {
  std::scoped_lock lock(mu_);
  auto it = rows_.find(id);
  if (it == rows_.end()) return std::nullopt;
  return it->second;
}

StoreTotals PaymentStore::summary(std::optional<UtcMicros> from,
                                  std::optional<UtcMicros> to) const {
  std::scoped_lock lock(mu_);
  if (!from || !to) return all_;  // the processor's "OR from IS NULL OR to IS NULL"
  StoreTotals t;
  if (*from > *to) return t;
  const auto end = by_time_.upper_bound(to->value);
  for (auto it = by_time_.lower_bound(from->value); it != end; ++it) {
    t.requests += it->second.requests;
    t.amount += it->second.amount;
  }
  return t;
}

void PaymentStore::purge() {
  std::scoped_lock lock(mu_);
  rows_.clear();
  by_time_.clear();
  all_ = {};
}

}  // namespace rinha::emulator
