// Concurrency and fixed-window limiters of the processor emulator (see limiters.hpp).
#include "instrument/emulator/limiters.hpp"

namespace rinha::emulator {

Admit ConcurrencyLimiter::acquire(Waiter on_grant) {
  std::scoped_lock lock(mu_);
  if (in_use_ < permits_ && waiting_.empty()) {
    ++in_use_;
    return Admit::kNow;
  }
  if (waiting_.size() >= queue_limit_) return Admit::kRejected;
  waiting_.push_back(std::move(on_grant));
  return Admit::kQueued;
}

Waiter ConcurrencyLimiter::release() {
  std::scoped_lock lock(mu_);
  if (!waiting_.empty()) {
    // The permit passes to the waiter: in_use_ stays the same.
    Waiter w = std::move(waiting_.front());
    waiting_.pop_front();
    return w;
  }
  if (in_use_ > 0) --in_use_;
  return {};
}

size_t ConcurrencyLimiter::in_use() const {
  std::scoped_lock lock(mu_);
  return in_use_;
}

size_t ConcurrencyLimiter::queued() const {
  std::scoped_lock lock(mu_);
  return waiting_.size();
}

Admit FixedWindowLimiter::acquire(Waiter on_grant) {
  std::scoped_lock lock(mu_);
  if (permit_ && waiting_.empty()) {
    permit_ = false;
    return Admit::kNow;
  }
  if (waiting_.size() >= queue_limit_) return Admit::kRejected;
  waiting_.push_back(std::move(on_grant));
  return Admit::kQueued;
}

Waiter FixedWindowLimiter::replenish() {
  std::scoped_lock lock(mu_);
  if (waiting_.empty()) {
    permit_ = true;
    return {};
  }
  Waiter w = std::move(waiting_.front());
  waiting_.pop_front();
  permit_ = false;
  return w;
}

}  // namespace rinha::emulator
