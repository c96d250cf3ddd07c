// Batched, outage-tolerant persistence of ledger entries. Config keys (via WriterConfig):
// ledger.batch_size, ledger.flush_interval_ms. Does not decide what is confirmed: it only
// stores what the worker already counts.
#include "ledger/writer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "config/config.hpp"

namespace rinha::ledger {
namespace {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

WriterConfig writer_config(const config::Config& cfg) {
  return {.batch_size = cfg.ledger.batch_size, .flush_interval_ms = cfg.ledger.flush_interval_ms};
}

LedgerWriter::LedgerWriter(Store& store, WriterConfig cfg, PersistedFn on_persisted)
    : store_(store), cfg_(cfg), on_persisted_(std::move(on_persisted)) {}

LedgerWriter::~LedgerWriter() { stop(0); }

void LedgerWriter::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
}

void LedgerWriter::stop(int drain_ms) {
  {
    std::scoped_lock lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    drain_deadline_ms_ = steady_ms() + drain_ms;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LedgerWriter::enqueue(const Entry& e) {
  bool wake;
  {
    std::scoped_lock lock(mu_);
    pending_.push_back(e);
    wake = pending_.size() >= static_cast<size_t>(cfg_.batch_size);
  }
  if (wake) cv_.notify_one();
}

void LedgerWriter::request_purge() {
  {
    std::scoped_lock lock(mu_);
    pending_.clear();
    purge_pending_ = true;
  }
  cv_.notify_one();
}

size_t LedgerWriter::pending() const {
  std::scoped_lock lock(mu_);
  return pending_.size();
}

void LedgerWriter::loop() {
  int retry_ms = 0;  // > 0 while the store is failing
  std::vector<Entry> batch;
  std::unique_lock lock(mu_);
  while (true) {
    // Wait for a full batch, the flush interval, a purge, or stop.
    const auto wait = std::chrono::milliseconds(retry_ms > 0 ? retry_ms : cfg_.flush_interval_ms);
    cv_.wait_for(lock, wait, [&] {
      return stopping_ || purge_pending_ ||
             (retry_ms == 0 && pending_.size() >= static_cast<size_t>(cfg_.batch_size));
    });
    if (stopping_ && (pending_.empty() && !purge_pending_)) break;
    if (stopping_ && steady_ms() > drain_deadline_ms_) {
      if (!pending_.empty())
        spdlog::error("ledger writer: stopping with {} rows not persisted", pending_.size());
      break;
    }

    Status s;
    if (purge_pending_) {
      purge_pending_ = false;
      lock.unlock();
      s = store_.purge();
      lock.lock();
      if (s.is_ok()) {
        stats_.purges.fetch_add(1);
      } else {
        purge_pending_ = true;  // rows enqueued meanwhile must still wait for the truncate
      }
    } else if (!pending_.empty()) {
      const size_t n = std::min(pending_.size(), static_cast<size_t>(cfg_.batch_size));
      const auto end = pending_.begin() + static_cast<std::ptrdiff_t>(n);
      batch.assign(pending_.begin(), end);
      pending_.erase(pending_.begin(), end);
      lock.unlock();
      const auto t0 = std::chrono::steady_clock::now();
      auto inserted = store_.insert(batch);
      s = inserted.status();
      const auto took = std::chrono::steady_clock::now() - t0;
      if (s.is_ok() && on_persisted_) on_persisted_(batch, *inserted);
      lock.lock();
      if (s.is_ok()) {
        stats_.flush_us.fetch_add(
            std::chrono::duration_cast<std::chrono::microseconds>(took).count());
        stats_.rows_written.fetch_add(static_cast<int64_t>(n));
        stats_.batches.fetch_add(1);
      } else if (!purge_pending_) {
        // Put the batch back in front, unless a purge meanwhile made it obsolete.
        pending_.insert(pending_.begin(), batch.begin(), batch.end());
      }
    } else {
      continue;
    }

    if (s.is_ok()) {
      retry_ms = 0;
    } else {
      stats_.store_errors.fetch_add(1);
      if (retry_ms == 0) spdlog::warn("ledger writer: {} (rows kept in memory)", s.message());
      retry_ms = std::clamp(retry_ms * 2, cfg_.retry_min_ms, cfg_.retry_max_ms);
    }
  }
}

}  // namespace rinha::ledger
