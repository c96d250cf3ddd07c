// Worker counters, one list: every event a run of the worker should be able to account for.
// Threading: atomics, written by the loop and hand-off threads, read by the stats logger.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace rinha::worker {

struct Stats {
  using Counter = std::atomic<int64_t>;
  Counter accepted{0};            // payments handed to us by the apis
  Counter duplicates_ignored{0};  // accepted again while known: not processed twice
  std::array<Counter, 2> sent{};         // POST /payments started, per processor
  std::array<Counter, 2> confirmed{};    // settled in the ledger, per processor
  std::array<Counter, 2> duplicate_422{};
  std::array<Counter, 2> server_errors{};
  std::array<Counter, 2> unknown{};      // timeout or reset after the request was sent
  std::array<Counter, 2> connect_failed{};
  std::array<Counter, 2> too_many{};
  std::array<Counter, 2> probes{};
  Counter lookups{0};             // GET /payments/{id}
  Counter lookup_found{0};
  Counter lookup_absent{0};
  Counter retries{0};             // payments put back in the queue after a proven non-insert
  Counter given_up{0};            // payments dropped (max attempts, or rejected 4xx)
  Counter amount_mismatch{0};     // a processor stored another amount than we sent
  Counter summaries{0};
  Counter ambiguous_summaries{0};  // summaries with open payments inside their window
  Counter ambiguous_payments{0};   // sum over summaries of those open payments
  Counter purges{0};
  Counter replayed{0};            // journal payments reconciled at start

  std::string to_string() const;
};

}  // namespace rinha::worker
