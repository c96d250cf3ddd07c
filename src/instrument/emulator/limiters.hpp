// Limiters (pure) of the organizers' payment processor (spec §2.2, §6): the concurrency limiter
// over POST /payments and GET /payments/{id} (permits + FIFO queue, then reject), and the fixed
// window limiter of GET /payments/service-health (1 permit per window shared by all callers,
// FIFO queue, then reject). Waiters are callbacks run when their turn comes; a callback returned
// by a method must be run by the caller after the call returns (never under the lock).
// Thread-safe: each limiter has its own mutex.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace rinha::emulator {

enum class Admit { kNow, kQueued, kRejected };

using Waiter = std::function<void()>;

// .NET ConcurrencyLimiter(PermitLimit, QueueLimit, OldestFirst).
class ConcurrencyLimiter {
 public:
  ConcurrencyLimiter(size_t permits, size_t queue_limit)
      : permits_(permits), queue_limit_(queue_limit) {}

  // kNow: the caller holds a permit and must release() it. kQueued: `on_grant` will be returned
  // by a later release() and then holds the permit. kRejected: nothing held (answer 429).
  Admit acquire(Waiter on_grant);
  // Gives the permit back, or hands it straight to the oldest waiter, whose callback is
  // returned for the caller to run (empty when none waits).
  Waiter release();

  size_t in_use() const;
  size_t queued() const;

 private:
  mutable std::mutex mu_;
  size_t permits_;  // GUARDED_BY(mu_): free permits
  size_t queue_limit_;
  size_t in_use_ = 0;           // GUARDED_BY(mu_)
  std::deque<Waiter> waiting_;  // GUARDED_BY(mu_)
};

// .NET FixedWindowRateLimiter(PermitLimit 1, QueueLimit, OldestFirst, auto-replenish): the
// owner calls replenish() at every window boundary.
class FixedWindowLimiter {
 public:
  explicit FixedWindowLimiter(size_t queue_limit) : queue_limit_(queue_limit) {}

  // kNow: served in this window. kQueued: `on_grant` comes back from a later replenish().
  // kRejected: answer 429.
  Admit acquire(Waiter on_grant);
  // Starts a new window: the permit is back, and the oldest waiter (if any) takes it at once;
  // its callback is returned for the caller to run.
  Waiter replenish();

 private:
  std::mutex mu_;
  size_t queue_limit_;
  bool permit_ = true;          // GUARDED_BY(mu_)
  std::deque<Waiter> waiting_;  // GUARDED_BY(mu_)
};

}  // namespace rinha::emulator
