// TimerQueue: one thread that runs callbacks at their due steady time, in due order (ties in
// submission order). The emulator parks delayed responses here so that no Pistache reactor
// thread ever sleeps. Callbacks must be short and must not block.
// Thread-safe: schedule()/post() from any thread; shutdown()/the destructor drop callbacks not
// yet due.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include "common/time.hpp"

namespace rinha::emulator {

class TimerQueue {
 public:
  TimerQueue();
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // After shutdown() the callback is dropped at once.
  void schedule(SteadyTime due, std::function<void()> fn);
  // Stops the thread and drops every pending callback (idempotent).
  void shutdown();
  void post(std::function<void()> fn) { schedule(std::chrono::steady_clock::now(), std::move(fn)); }

 private:
  struct Item {
    SteadyTime due;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Item& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> items_;  // GUARDED_BY(mu_)
  uint64_t next_seq_ = 0;                                                   // GUARDED_BY(mu_)
  bool stop_ = false;                                                       // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace rinha::emulator
