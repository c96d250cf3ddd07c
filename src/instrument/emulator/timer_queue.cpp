// The emulator's single timer thread (see timer_queue.hpp).
#include "instrument/emulator/timer_queue.hpp"

namespace rinha::emulator {

TimerQueue::TimerQueue() : thread_([this] { run(); }) {}

TimerQueue::~TimerQueue() { shutdown(); }

void TimerQueue::shutdown() {
  {
    std::scoped_lock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  decltype(items_) dropped;
  {
    std::scoped_lock lock(mu_);
    dropped.swap(items_);
  }
}

void TimerQueue::schedule(SteadyTime due, std::function<void()> fn) {
  {
    std::scoped_lock lock(mu_);
    if (stop_) return;  // fn is destroyed on return, outside the lock
    items_.push(Item{due, next_seq_++, std::move(fn)});
  }
  cv_.notify_one();
}

void TimerQueue::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (items_.empty()) {
      cv_.wait(lock);
      continue;
    }
    SteadyTime due = items_.top().due;
    if (std::chrono::steady_clock::now() < due) {
      cv_.wait_until(lock, due);
      continue;
    }
    std::function<void()> fn = std::move(const_cast<Item&>(items_.top()).fn);
    items_.pop();
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace rinha::emulator
