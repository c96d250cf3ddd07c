// The official consistency check, sampled: our /payments-summary and both processors' admin
// summaries for [now-15 s, now-2 s], read in parallel (read_ledgers), repeated from its own thread
// every min..max ms (uniform, fixed seed) until stopped. Every check and every mark() goes into
// an ordered log; disagreeing checks are also kept apart. An unanswered read (non-200, refused,
// timeout) is counted, never a failure by itself: each test says what it allows.
//
// Threading: one sampling thread, started by the constructor, joined by stop() (or the
// destructor); the accessors may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/traffic.hpp"

namespace rinha::testsupport {

class WindowSampler {
 public:
  WindowSampler(Endpoints e, std::chrono::milliseconds min_period,
                std::chrono::milliseconds max_period);
  ~WindowSampler();
  WindowSampler(const WindowSampler&) = delete;
  WindowSampler& operator=(const WindowSampler&) = delete;

  void stop();
  // Writes an event (a kill, a restart) into the log so the checks around it read in order.
  void mark(const std::string& what);
  int checks() const { return checks_.load(); }          // answered checks
  int unanswered() const { return unanswered_.load(); }  // reads that failed
  std::vector<std::string> mismatches();                 // "<time>: <ledgers>" per disagreement
  std::vector<std::string> unanswered_reads();           // "<time>: UNANSWERED <why>" per read
  std::string log();                                     // every check and mark, one a line

 private:
  void run();

  Endpoints e_;
  std::chrono::milliseconds min_period_, max_period_;
  std::atomic<bool> stop_{false};
  std::atomic<int> checks_{0}, unanswered_{0};
  std::mutex mu_;
  std::vector<std::string> mismatches_;        // GUARDED_BY(mu_)
  std::vector<std::string> unanswered_reads_;  // GUARDED_BY(mu_)
  std::vector<std::string> log_;               // GUARDED_BY(mu_)
  std::thread thread_;                         // last: starts once the members above exist
};

}  // namespace rinha::testsupport
