// PaymentStore (pure): the emulator's in-memory payments table (spec §2.1: correlationId
// primary key, amount rounded to cents, requested_at as the backend sent it) and the admin
// summary filter: requested_at BETWEEN from AND to, inclusive, compared at full precision, and
// every row when either bound is missing (spec §6.5). Totals are also kept per requested_at
// instant, so a summary costs the payments in its window (as the processor's index on
// requested_at does), not the history: a scan of every row under the mutex stalled inserts
// and timed the checker's reads out once a long soak had stored ~1.4 M payments.
// Thread-safe: one mutex.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "common/money.hpp"
#include "common/time.hpp"
#include "common/uuid.hpp"

namespace rinha::emulator {

struct StoredPayment {
  Cents amount;
  UtcMicros requested_at;
};

struct StoreTotals {
  int64_t requests = 0;
  Cents amount;
};

class PaymentStore {
 public:
  // False when the id is already stored (the processor's 422); nothing changes then.
  bool insert(const Uuid& id, StoredPayment p);
  std::optional<StoredPayment> find(const Uuid& id) const;
  StoreTotals summary(std::optional<UtcMicros> from, std::optional<UtcMicros> to) const;
  void purge();

 private:
  mutable std::mutex mu_;
  std::unordered_map<Uuid, StoredPayment, UuidHash> rows_;  // GUARDED_BY(mu_)
  std::map<int64_t, StoreTotals> by_time_;                  // GUARDED_BY(mu_), by micros
  StoreTotals all_;                                         // GUARDED_BY(mu_)
};

}  // namespace rinha::emulator
