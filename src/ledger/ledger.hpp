// Ledger (PURE): the payments confirmed by a processor (correlationId, cents, processor, the
// exact requestedAt sent), authoritative for /payments-summary; plus the set of payments whose
// outcome is still open (in flight or awaiting a lookup), to measure ambiguous summaries.
//
// Memory is bounded by configuration, not by history: a payment is kept in detail while its
// requestedAt lies within `horizon_ms` of the newest one seen (where the checks' windows and
// the open outcomes live). Once older than that AND persisted, it is folded into exact
// per-processor totals of its time bucket (`bucket_ms` wide) and its id is forgotten. A summary
// window then adds whole buckets, the detail it covers, and, for a window edge that cuts a
// bucket holding folded payments, an EdgeQuery the caller answers from the store.
//
// Duplicates: an id still in detail is refused here. A payment whose requestedAt is not newer
// than every folded one may repeat a forgotten id, so add() does not count it: it waits until
// the store's primary key has decided (arbitrated()), and counts only if the row was new.
//
// Threading: not thread-safe; the worker guards one Ledger with one mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <unordered_map>
#include <vector>

#include "common/money.hpp"
#include "common/processor_id.hpp"
#include "common/time.hpp"
#include "common/uuid.hpp"
#include "summary/summary.hpp"

namespace rinha::config {
struct Config;
}

namespace rinha::ledger {

struct Entry {
  Uuid id;
  Cents amount;
  UtcMillis requested_at;  // exactly what the processor stored
  Processor processor = Processor::kDefault;
  friend bool operator==(const Entry&, const Entry&) = default;
};

// ledger.* of config::Config, which holds each knob's one default: none here.
struct LedgerConfig {
  int64_t horizon_ms;  // detail kept for payments this much older than the newest
  int64_t bucket_ms;   // width of the aggregate buckets of older payments
};

// ledger.horizon_ms and ledger.bucket_ms of cfg.
LedgerConfig ledger_config(const config::Config& cfg);

// Part of a window the ledger cannot total alone: [from_ms, to_ms] lies inside one bucket
// holding folded payments. The answer is the store's rows in that range whose id is not in
// `exclude` (those are counted from detail already).
struct EdgeQuery {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  std::vector<Uuid> exclude;
};

struct SummaryResult {
  summary::SummaryTotals totals;
  // Open payments whose requestedAt lies in the window, plus payments waiting for the store's
  // arbitration: the processor may or may not count them at this instant.
  int64_t ambiguous = 0;
  // To be added to totals (from the store) before the answer is exact. Empty for any window
  // whose edges fall in buckets with no folded payment, e.g. every window within the horizon.
  std::vector<EdgeQuery> edges;
};

enum class AddResult {
  kAdded,      // counted now
  kDuplicate,  // already counted (or already waiting for arbitration): nothing changed
  kArbiter,    // may repeat a forgotten id: persist it, then report the store's verdict
};

// Where a restart at `now` splits the store: bucket totals before, rows from there on (the
// horizon behind now, down to a bucket boundary).
int64_t restore_since(const LedgerConfig& cfg, UtcMillis now);

class Ledger {
 public:
  explicit Ledger(LedgerConfig cfg);

  // Records a confirmed payment and closes its outcome. See AddResult.
  AddResult add(const Entry& e);
  // Whether the id is known in memory (detail or awaiting arbitration). An id folded away is
  // no longer known: only the store can tell.
  bool contains(const Uuid& id) const;

  // Called once the store has committed a batch of entries given by add() (in that order);
  // inserted[i] tells whether entry i was a new row (false: the key existed). Marks detail as
  // persisted, counts the arbitrated entries that were new, then folds what is old enough.
  void persisted(const std::vector<Entry>& batch, const std::vector<bool>& inserted);

  // Restart: the store's folded state. restore_bucket() adds one bucket's totals (bucket_start
  // a multiple of bucket_ms, older than `until`); restore_recent() adds a persisted payment
  // with requestedAt >= until; restore_folded_until() says every payment older than `until` is
  // in the buckets (so an older id may be a duplicate). Call before any add().
  void restore_bucket(int64_t bucket_start_ms, Processor p, int64_t count, Cents amount);
  void restore_recent(const Entry& e);
  void restore_folded_until(UtcMillis until);

  // An outcome becomes open (sent with this requestedAt) or closed (settled or proven absent).
  // Until look_up_after it is a POST that its processor may still be working on, whose answer
  // will say (open_in leaves it out); from then on, only a lookup can tell. Opening an open
  // id again replaces both.
  void open(const Uuid& id, UtcMillis requested_at, SteadyTime look_up_after = SteadyTime{}) {
    open_[id] = Open{requested_at.value, look_up_after};
  }
  void close(const Uuid& id) { open_.erase(id); }
  size_t open_count() const { return open_.size(); }
  // Open outcomes whose requestedAt lies in w and that only a lookup can settle at `now`;
  // *waiting gets how many others in w are still waiting for their answer.
  std::vector<Uuid> open_in(const summary::Window& w, SteadyTime now,
                            int64_t* waiting = nullptr) const {
    std::vector<Uuid> ids;
    int64_t young = 0;
    for (const auto& [id, o] : open_) {
      if (!w.contains(UtcMillis{o.requested_at_ms})) continue;
      if (o.look_up_after <= now)
        ids.push_back(id);
      else
        ++young;
    }
    if (waiting) *waiting = young;
    return ids;
  }

  // Whether an id absent from memory may still have been counted (something was folded away,
  // or restored as folded): only the store can tell then.
  bool may_have_forgotten() const { return folded_until_ms_ != kNoneFolded; }

  // Payments counted (detail + folded).
  int64_t size() const { return static_cast<int64_t>(detail_.size()) + folded_count_; }
  // Payments held in detail (bounded by rate x horizon while the store keeps up).
  size_t detail_size() const { return detail_.size(); }
  size_t bucket_count() const { return buckets_.size(); }
  size_t arbiter_count() const { return arbiter_.size(); }
  const LedgerConfig& config() const { return cfg_; }

  // Cost: the detail (bounded by the horizon) plus the buckets the window covers.
  SummaryResult summarize(const summary::Window& w) const;

  void clear();

 private:
  struct Slot {
    Entry e;
    bool persisted = false;
  };
  using Totals = summary::SummaryTotals;

  void fold_old();
  void fold(const Entry& e);
  static void count(Totals& t, Processor p, int64_t n, Cents amount);

  LedgerConfig cfg_;
  // Detail in add() order; slot i has sequence number first_seq_ + i.
  std::deque<Slot> detail_;
  uint64_t first_seq_ = 0;
  std::unordered_map<Uuid, uint64_t, UuidHash> ids_;  // detail id -> sequence number
  int64_t newest_ms_;                                 // newest requestedAt in detail so far
  static constexpr int64_t kNoneFolded = std::numeric_limits<int64_t>::min();
  int64_t folded_until_ms_;            // every forgotten id had requestedAt below this
  std::map<int64_t, Totals> buckets_;  // bucket index (requestedAt / bucket_ms) -> folded
  Totals folded_;                      // every bucket summed
  int64_t folded_count_ = 0;
  std::unordered_map<Uuid, Entry, UuidHash> arbiter_;  // waiting for the store's verdict
  struct Open {
    int64_t requested_at_ms;
    SteadyTime look_up_after;
  };
  std::unordered_map<Uuid, Open, UuidHash> open_;
};

}  // namespace rinha::ledger
