// LedgerWriter: persists confirmed entries through a Store on a thread of its own, in batches
// (ledger.batch_size rows, or whatever is pending after ledger.flush_interval_ms).
// A store outage never blocks callers: rows wait in memory and are written when it is back.
// Threading: enqueue()/request_purge()/pending() from any thread; the Store and the persisted
// callback are used only on the writer thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "ledger/store.hpp"

namespace rinha::config {
struct Config;
}

namespace rinha::ledger {

// batch_size and flush_interval_ms are ledger.* of config::Config, which holds their one
// default; the retry waits are fixed by the code.
struct WriterConfig {
  int batch_size;
  int flush_interval_ms;
  int retry_min_ms = 100;   // first wait after a store failure
  int retry_max_ms = 2000;  // longest wait between attempts while the store is down
};

// ledger.batch_size and ledger.flush_interval_ms of cfg.
WriterConfig writer_config(const config::Config& cfg);

struct WriterStats {
  std::atomic<int64_t> rows_written{0};
  std::atomic<int64_t> batches{0};
  std::atomic<int64_t> store_errors{0};
  std::atomic<int64_t> purges{0};
  std::atomic<int64_t> flush_us{0};  // time spent in successful batch INSERTs (for /metrics)
};

class LedgerWriter {
 public:
  // Called on the writer thread with each committed batch and, per entry, whether it became a
  // new row (journal settlement; the ledger's folding and arbitration).
  using PersistedFn = std::function<void(const std::vector<Entry>&, const std::vector<bool>&)>;

  LedgerWriter(Store& store, WriterConfig cfg, PersistedFn on_persisted = nullptr);
  ~LedgerWriter();  // stop()
  LedgerWriter(const LedgerWriter&) = delete;
  LedgerWriter& operator=(const LedgerWriter&) = delete;

  void start();
  // Writes what is pending (waiting at most drain_ms for the store), then joins the thread.
  void stop(int drain_ms = 2000);

  void enqueue(const Entry& e);
  // Drops rows not yet written and empties the store before any row enqueued later is written.
  void request_purge();
  size_t pending() const;
  const WriterStats& stats() const { return stats_; }

 private:
  void loop();

  Store& store_;
  const WriterConfig cfg_;
  PersistedFn on_persisted_;
  WriterStats stats_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Entry> pending_;     // GUARDED_BY(mu_)
  bool purge_pending_ = false;     // GUARDED_BY(mu_)
  bool stopping_ = false;          // GUARDED_BY(mu_)
  int64_t drain_deadline_ms_ = 0;  // GUARDED_BY(mu_), steady ms; set by stop()
  std::thread thread_;
};

}  // namespace rinha::ledger
