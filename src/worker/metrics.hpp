// Worker metrics: the Stats counters, the loop's gauges (backlog, in-flight per processor), the
// processor latency histogram and the ledger writer's figures as Prometheus text, served on
// GET /metrics when worker.metrics_listen is set (host:port; off by default: the official test
// never reads it and the worker's CPU is better spent on payments).
// Threading: render_metrics() only reads atomics, from any thread; MetricsServer answers on its
// own Pistache thread and is started and stopped by the worker's main thread.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/status.hpp"
#include "ledger/writer.hpp"
#include "worker/stats.hpp"

namespace rinha::worker {

// Prometheus text exposition format 0.0.4.
std::string render_metrics(const Stats& s, const ledger::WriterStats& w, size_t ledger_pending);

// The ledger's size, read under its mutex by the caller: what bounds the worker's memory.
struct LedgerGauges {
  int64_t payments = 0;  // counted, detail + folded
  size_t detail = 0;     // held per payment (bounded by rate x ledger.horizon_ms)
  size_t buckets = 0;    // folded totals (one per ledger.bucket_ms of history)
  size_t arbiter = 0;    // possible old duplicates waiting for the store's verdict
  // malloc's view (mallinfo2): live bytes, and bytes taken from the kernel for the heap; a gap
  // that grows is fragmentation, a use that grows is a leak.
  size_t heap_in_use = 0;
  size_t heap_held = 0;
};
std::string render_ledger_metrics(const LedgerGauges& g);

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  MetricsServer(std::string listen, Render render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  Status start();  // listen is host:port (port 0 = any free port)
  void stop();     // idempotent
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rinha::worker
