// Worker role wiring: PostgreSQL ledger (schema, load), writer thread, processor client,
// dispatcher loop, hand-off server, signals. Config keys: worker.listen, database.url,
// processors.*, router.*, retry.*, health.*, ledger.*, worker.* (metrics, restart reconcile),
// cluster.node.
#include "worker/run.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <thread>

#include "cluster/shared_health.hpp"
#include "ledger/postgres_store.hpp"
#include "net/signals.hpp"
#include "processor/client.hpp"
#include "worker/dispatcher.hpp"
#include "worker/metrics.hpp"

namespace rinha::worker {
namespace {

processor::EndpointConfig endpoint(const config::ProcessorConfig& p) {
  return processor::EndpointConfig{p.url, p.timeout_ms, p.connect_timeout_ms, p.max_connections};
}

// Calls on_signal once when SIGTERM/SIGINT arrives; polls so that destruction can stop it.
class SignalWatcher {
 public:
  template <typename F>
  SignalWatcher(const net::TerminationSignals& signals, F on_signal) {
    thread_ = std::thread([this, &signals, on_signal] {
      while (!done_.load()) {
        if (signals.wait_for(std::chrono::milliseconds(100))) {
          signalled_.store(true);
          on_signal();
          return;
        }
      }
    });
  }
  ~SignalWatcher() {
    done_.store(true);
    thread_.join();
  }
  bool signalled() const { return signalled_.load(); }

 private:
  std::atomic<bool> done_{false};
  std::atomic<bool> signalled_{false};
  std::thread thread_;
};

// Gives the heap's free pages back to the kernel every period. glibc keeps free chunks in the
// middle of the main arena resident: in a 60-minute soak at 600 payments/s the worker held
// 18.9 MB of heap with 11.6 MB in use after 1.2 M payments, and its RSS crept ~5 B per payment
// although the ledger's detail stayed at its horizon. malloc_trim(0) walks the arena under its
// lock (milliseconds at this size), off every request path.
class HeapTrimmer {
 public:
  explicit HeapTrimmer(std::chrono::milliseconds period) {
    thread_ = std::thread([this, period] {
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, period, [this] { return done_; })) ::malloc_trim(0);
    });
  }
  ~HeapTrimmer() {
    {
      std::scoped_lock lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace

int run(const config::Config& cfg) {
  const net::TerminationSignals termination;  // before any thread starts

  SystemClock clock;
  std::atomic<bool> stopping{false};
  Dispatcher* dispatcher = nullptr;
  handoff::Server* server = nullptr;
  std::mutex wiring_mu;
  SignalWatcher signals(termination, [&] {
    stopping.store(true);
    std::scoped_lock lock(wiring_mu);
    if (server) server->stop();  // no new payments while open ones settle
    if (dispatcher) dispatcher->request_stop();
  });

  // The ledger must be loaded before any summary is answered, so PostgreSQL is waited for.
  // Restart cost is bounded by the horizon: bucket totals for older payments, rows for recent.
  const ledger::LedgerConfig lcfg = ledger::ledger_config(cfg);
  ledger::PostgresStore store(cfg.database.url, lcfg.bucket_ms, true, cfg.cluster.node);
  ledger::Ledger ledger(lcfg);
  const auto load_started = std::chrono::steady_clock::now();
  for (int attempt = 0;; ++attempt) {
    const UtcMillis since{ledger::restore_since(lcfg, clock.now_utc())};
    Status s = store.open();
    if (s.is_ok()) {
      auto got = store.load(since);
      if (got.is_ok()) {
        for (const auto& b : got->buckets)
          ledger.restore_bucket(b.bucket_start_ms, b.processor, b.requests, b.amount);
        ledger.restore_folded_until(since);
        for (const auto& e : got->recent) ledger.restore_recent(e);
        break;
      }
      s = got.status();
    }
    if (attempt % 10 == 0) spdlog::warn("worker: database not ready ({}); retrying", s.message());
    if (stopping.load()) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  spdlog::info("worker: ledger loaded in {} ms: {} payments, {} in detail, {} buckets",
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - load_started)
                   .count(),
               ledger.size(), ledger.detail_size(), ledger.bucket_count());

  // Journal: accepted payments not yet settled in PostgreSQL (durability process|machine).
  std::unique_ptr<handoff::Journal> journal;
  std::vector<handoff::JournalEntry> replayed;
  if (cfg.handoff.durability != Durability::kNone) {
    auto j = handoff::Journal::open(cfg.handoff.journal_path, cfg.handoff.durability);
    if (!j.is_ok()) {
      spdlog::error("worker: journal {}: {}", cfg.handoff.journal_path, j.status().message());
      return 1;
    }
    journal = std::move(j).value();
    std::vector<Uuid> already;
    for (auto& e : journal->unsettled_entries())
      (ledger.contains(e.payment.id) ? (void)already.push_back(e.payment.id)
                                     : replayed.push_back(std::move(e)));
    if (!already.empty()) (void)journal->append_settled(already);
    spdlog::info("worker: journal {}: {} payments to reconcile", cfg.handoff.journal_path,
                 replayed.size());
  }

  std::mutex ledger_mu;
  // A payment is settled in the journal only once its row is committed in PostgreSQL; only
  // then may the ledger fold it (edge queries read it from there).
  ledger::LedgerWriter writer(
      store, ledger::writer_config(cfg),
      [&journal, &ledger, &ledger_mu](const std::vector<ledger::Entry>& rows,
                                      const std::vector<bool>& inserted) {
        {
          std::scoped_lock lock(ledger_mu);
          ledger.persisted(rows, inserted);
        }
        if (!journal) return;
        std::vector<Uuid> ids;
        ids.reserve(rows.size());
        for (const auto& e : rows) ids.push_back(e.id);
        Status s = journal->append_settled(ids);
        if (!s.is_ok()) spdlog::warn("journal: settle record failed: {}", s.message());
      });
  writer.start();

  Stats stats;
  processor::Client client({endpoint(cfg.default_processor), endpoint(cfg.fallback_processor)});
  // Summary edges inside folded buckets, the old-duplicate check and the claims: a connection
  // of their own.
  ledger::PostgresStore edge_store(cfg.database.url, lcfg.bucket_ms, false, cfg.cluster.node);
  // health.shared on: one poller per processor for all workers on this database, through a
  // thread and a connection of its own (off: the loop polls, no thread, no connection).
  health::HealthExchange health_exchange;
  std::unique_ptr<cluster::SharedHealth> shared_health;
  if (cfg.health.shared == config::OnOff::kOn) {
    health_exchange.set_loop_wakeup([&client] { client.wakeup(); });
    shared_health = std::make_unique<cluster::SharedHealth>(
        cfg.database.url, cluster::shared_health_config(cfg), clock, health_exchange);
  }
  Dispatcher d(dispatcher_config(cfg), clock, client, ledger, ledger_mu, writer, stats,
               journal.get(), &edge_store, shared_health ? &health_exchange : nullptr);
  d.reconcile(replayed);
  MetricsServer metrics(cfg.worker.metrics_listen, [&] {
    LedgerGauges g;
    {
      std::scoped_lock lock(ledger_mu);
      g = {ledger.size(), ledger.detail_size(), ledger.bucket_count(), ledger.arbiter_count()};
    }
    const struct mallinfo2 mi = ::mallinfo2();
    g.heap_in_use = mi.uordblks + mi.hblkhd;
    g.heap_held = mi.arena + mi.hblkhd;
    return render_metrics(stats, writer.stats(), writer.pending()) + render_ledger_metrics(g);
  });
  if (!cfg.worker.metrics_listen.empty()) {
    Status ms = metrics.start();
    if (!ms.is_ok()) {
      spdlog::error("worker: {}", ms.message());
      writer.stop();
      return 1;
    }
    spdlog::info("worker: metrics on {} (port {})", cfg.worker.metrics_listen, metrics.port());
  }
  handoff::Server hs(cfg.worker.listen, d);
  Status st = hs.start();
  if (!st.is_ok()) {
    spdlog::error("worker: cannot listen on {}: {}", cfg.worker.listen, st.message());
    writer.stop();
    return 1;
  }
  {
    std::scoped_lock lock(wiring_mu);
    server = &hs;
    dispatcher = &d;
    if (stopping.load()) d.request_stop();
  }
  spdlog::info("worker: listening on {}; default {} fallback {}", cfg.worker.listen,
               cfg.default_processor.url, cfg.fallback_processor.url);

  if (shared_health) {
    Status hs_st = shared_health->start();
    if (!hs_st.is_ok()) {
      spdlog::error("worker: {}", hs_st.message());
      hs.stop();
      writer.stop();
      return 1;
    }
  }
  const HeapTrimmer trimmer(std::chrono::seconds(30));
  // The old-duplicate check's and the claims' queries block: a thread of their own (OLD IDS,
  // CLAIMS, dispatcher.cpp).
  std::thread old_ids([&d] { d.run_old_id_checks(); });
  d.run_loop();
  old_ids.join();         // once stopped, with nothing left waiting for the check
  shared_health.reset();  // its thread uses the loop's wake-up: gone before the client

  {
    std::scoped_lock lock(wiring_mu);
    server = nullptr;
    dispatcher = nullptr;
  }
  hs.stop();
  writer.stop();
  spdlog::info("worker: stopped. {}", stats.to_string());
  return 0;
}

}  // namespace rinha::worker
