// Ledger test helpers shared by tests/unit/ledger_test.cpp and
// tests/integration/ledger_store_test.cpp: numbered ids and entries, windows, and the
// brute-force window totals every ledger answer is compared with.
#pragma once

#include <vector>

#include "ledger/ledger.hpp"

namespace rinha::ledger::samples {

inline Uuid make_id(uint32_t n) {
  Uuid u;
  u.bytes[12] = static_cast<uint8_t>(n >> 24);
  u.bytes[13] = static_cast<uint8_t>(n >> 16);
  u.bytes[14] = static_cast<uint8_t>(n >> 8);
  u.bytes[15] = static_cast<uint8_t>(n);
  return u;
}

inline Entry entry(uint32_t n, int64_t cents, int64_t at, Processor p) {
  return Entry{make_id(n), Cents{cents}, UtcMillis{at}, p};
}

inline summary::Window window(int64_t from, int64_t to) {
  summary::Window w;
  w.from_ms = from;
  w.to_ms = to;
  return w;
}

inline summary::SummaryTotals brute(const std::vector<Entry>& all, const summary::Window& w) {
  summary::SummaryTotals t;
  for (const Entry& e : all)
    if (w.contains(e.requested_at))
      (e.processor == Processor::kDefault ? t.default_totals : t.fallback_totals).add(e.amount);
  return t;
}

}  // namespace rinha::ledger::samples
