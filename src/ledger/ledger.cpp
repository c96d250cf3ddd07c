// In-memory ledger: recent detail, folded per-bucket totals, arbitration of possible old
// duplicates, window totals, open outcomes. Config keys (via LedgerConfig): ledger.horizon_ms,
// ledger.bucket_ms. Does no I/O: what needs the store is handed back as EdgeQuery / kArbiter.
#include "ledger/ledger.hpp"

#include <algorithm>
#include <limits>

#include "config/config.hpp"

namespace rinha::ledger {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

LedgerConfig ledger_config(const config::Config& cfg) {
  return LedgerConfig{cfg.ledger.horizon_ms, cfg.ledger.bucket_ms};
}

int64_t restore_since(const LedgerConfig& cfg, UtcMillis now) {
  return floor_div(now.value - cfg.horizon_ms, cfg.bucket_ms) * cfg.bucket_ms;
}

Ledger::Ledger(LedgerConfig cfg) : cfg_(cfg), newest_ms_(kMin), folded_until_ms_(kMin) {}

void Ledger::count(Totals& t, Processor p, int64_t n, Cents amount) {
  auto& side = p == Processor::kDefault ? t.default_totals : t.fallback_totals;
  side.requests += n;
  side.amount += amount;
}

bool Ledger::contains(const Uuid& id) const {
  return ids_.count(id) != 0 || arbiter_.count(id) != 0;
}

AddResult Ledger::add(const Entry& e) {
  if (contains(e.id)) return AddResult::kDuplicate;
  open_.erase(e.id);
  if (e.requested_at.value < folded_until_ms_) {
    arbiter_.emplace(e.id, e);
    return AddResult::kArbiter;
  }
  ids_.emplace(e.id, first_seq_ + detail_.size());
  detail_.push_back(Slot{e, false});
  newest_ms_ = std::max(newest_ms_, e.requested_at.value);
  return AddResult::kAdded;
}

void Ledger::persisted(const std::vector<Entry>& batch, const std::vector<bool>& inserted) {
  for (size_t i = 0; i < batch.size(); ++i) {
    const Entry& e = batch[i];
    if (auto a = arbiter_.find(e.id); a != arbiter_.end() && a->second == e) {
      arbiter_.erase(a);
      if (i < inserted.size() && inserted[i]) fold(e);  // new row: counted now, already stored
      continue;
    }
    // Rows of a purged ledger, or already folded, are not found: nothing to mark.
    if (auto it = ids_.find(e.id); it != ids_.end())
      detail_[it->second - first_seq_].persisted = true;
  }
  fold_old();
}

void Ledger::fold(const Entry& e) {
  count(buckets_[floor_div(e.requested_at.value, cfg_.bucket_ms)], e.processor, 1, e.amount);
  count(folded_, e.processor, 1, e.amount);
  ++folded_count_;
  folded_until_ms_ = std::max(folded_until_ms_, e.requested_at.value + 1);
}

// Folds from the front (oldest added first): a payment not yet persisted stops the folding,
// since its row would be missing from edge queries; detail grows meanwhile, as it must.
void Ledger::fold_old() {
  if (newest_ms_ == kMin) return;
  const int64_t cutoff = newest_ms_ - cfg_.horizon_ms;
  while (!detail_.empty()) {
    const Slot& s = detail_.front();
    if (!s.persisted || s.e.requested_at.value >= cutoff) break;
    fold(s.e);
    ids_.erase(s.e.id);
    detail_.pop_front();
    ++first_seq_;
  }
}

void Ledger::restore_bucket(int64_t bucket_start_ms, Processor p, int64_t n, Cents amount) {
  count(buckets_[floor_div(bucket_start_ms, cfg_.bucket_ms)], p, n, amount);
  count(folded_, p, n, amount);
  folded_count_ += n;
}

void Ledger::restore_recent(const Entry& e) {
  if (add(e) != AddResult::kAdded) return;
  detail_.back().persisted = true;
}

void Ledger::restore_folded_until(UtcMillis until) {
  folded_until_ms_ = std::max(folded_until_ms_, until.value);
}

SummaryResult Ledger::summarize(const summary::Window& w) const {
  SummaryResult r;
  if (w.from_ms > w.to_ms) return r;
  for (const Slot& s : detail_)
    if (w.contains(s.e.requested_at)) count(r.totals, s.e.processor, 1, s.e.amount);
  for (const auto& [id, o] : open_)
    if (w.contains(UtcMillis{o.requested_at_ms})) ++r.ambiguous;
  for (const auto& [id, e] : arbiter_)
    if (w.contains(e.requested_at)) ++r.ambiguous;

  auto add_totals = [&](const Totals& t) {
    count(r.totals, Processor::kDefault, t.default_totals.requests, t.default_totals.amount);
    count(r.totals, Processor::kFallback, t.fallback_totals.requests, t.fallback_totals.amount);
  };
  if (w.is_all()) {
    add_totals(folded_);
    return r;
  }
  const int64_t first = floor_div(w.from_ms, cfg_.bucket_ms);
  const int64_t last = floor_div(w.to_ms, cfg_.bucket_ms);
  for (auto it = buckets_.lower_bound(first); it != buckets_.end() && it->first <= last; ++it) {
    const int64_t start = it->first * cfg_.bucket_ms;
    const int64_t end = start + (cfg_.bucket_ms - 1);  // inclusive
    if (w.from_ms <= start && end <= w.to_ms) {
      add_totals(it->second);
      continue;
    }
    EdgeQuery q{std::max(w.from_ms, start), std::min(w.to_ms, end), {}};
    for (const Slot& s : detail_)
      if (s.e.requested_at.value >= q.from_ms && s.e.requested_at.value <= q.to_ms)
        q.exclude.push_back(s.e.id);
    r.edges.push_back(std::move(q));
  }
  return r;
}

void Ledger::clear() {
  const LedgerConfig cfg = cfg_;
  *this = Ledger(cfg);
}

}  // namespace rinha::ledger
