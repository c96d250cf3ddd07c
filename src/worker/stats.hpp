// Worker counters, one list: every event a run of the worker should be able to account for.
// Threading: atomics, written by the loop and hand-off threads, read by the stats logger.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace rinha::worker {

// Processor POST /payments latency, Prometheus-style cumulative buckets (ms upper bounds).
struct LatencyHistogram {
  static constexpr std::array<int64_t, 12> kBoundsMs = {5,   10,   25,   50,   100,  250,
                                                        500, 1000, 1500, 2500, 5000, 10000};
  std::array<std::atomic<int64_t>, kBoundsMs.size()> buckets{};  // count with latency <= bound
  std::atomic<int64_t> count{0};
  std::atomic<int64_t> sum_us{0};

  void observe_us(int64_t us) {
    for (size_t i = 0; i < kBoundsMs.size(); ++i)
      if (us <= kBoundsMs[i] * 1000) buckets[i].fetch_add(1, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
    sum_us.fetch_add(us, std::memory_order_relaxed);
  }
};

struct Stats {
  using Counter = std::atomic<int64_t>;
  Counter accepted{0};            // payments handed to us by the apis
  Counter duplicates_ignored{0};  // accepted again while known: not processed twice
  Counter old_duplicates{0};      // of those, ids folded out of memory and found in the store
  Counter old_unchecked{0};       // accepted while the store could not say whether ids were old
  Counter claimed_elsewhere{0};   // cluster: of the duplicates, ids another node claimed first
  Counter claim_statements{0};    // cluster: claim statements made (one per linger at most)
  Counter claim_failures{0};      // cluster: of those, failed (their ids wait and retry)
  std::array<Counter, 2> sent{};  // POST /payments started, per processor
  std::array<Counter, 2> confirmed{};  // settled in the ledger, per processor
  std::array<Counter, 2> duplicate_422{};
  std::array<Counter, 2> server_errors{};
  std::array<Counter, 2> unknown{};  // timeout or reset after the request was sent
  std::array<Counter, 2> connect_failed{};
  std::array<Counter, 2> too_many{};
  std::array<Counter, 2> probes{};
  Counter lookups{0};  // GET /payments/{id}
  Counter lookup_found{0};
  Counter lookup_absent{0};
  Counter retries{0};          // payments put back in the queue after a proven non-insert
  Counter given_up{0};         // payments dropped (max attempts, or rejected 4xx)
  Counter amount_mismatch{0};  // a processor stored another amount than we sent
  Counter summaries{0};
  Counter ambiguous_summaries{0};  // summaries with open payments inside their window
  Counter ambiguous_payments{0};   // sum over summaries of those open payments
  // Summary-time probes: summaries whose window held open outcomes looked them up and waited.
  Counter summary_waits{0};           // summaries that probed
  Counter summary_wait_expired{0};    // of those, answered at summary_wait_ms with lookups out
  Counter summary_wait_us{0};         // time they spent waiting, summed
  Counter summary_probed{0};          // open payments in their windows, summed
  Counter summary_lookup_skipped{0};  // of those, POSTs in flight within their delay: not asked
  Counter summary_lookups{0};         // lookups sent (GET /payments/{id}; a replayed one: both)
  Counter summary_lookup_found{0};    // answers: committed there (settled then, if still open)
  Counter summary_lookup_absent{0};   // answers: 404
  Counter summary_lookup_timeout{0};
  Counter summary_lookup_error{0};  // any other answer (reset, 5xx, unreadable body)
  Counter purges{0};
  std::array<Counter, 2> health_calls{};      // GET /payments/service-health sent by us
  std::array<Counter, 2> health_shared_in{};  // health.shared: answers other workers obtained
  Counter replayed{0};                        // journal payments reconciled at start
  // Gauges, refreshed by the loop each turn (for /metrics).
  Counter backlog{0};                         // queued + open payments
  std::array<Counter, 2> in_flight{};         // POST /payments outstanding, per processor
  std::array<Counter, 2> health_leader{};     // health.shared: 1 while we lead its polls
  std::array<LatencyHistogram, 2> latency{};  // POST /payments replies, per processor

  std::string to_string() const;
};

}  // namespace rinha::worker
