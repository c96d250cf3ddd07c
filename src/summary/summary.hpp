// Summary (pure): the [from, to] window rules and per-processor totals, and the JSON body of
// GET /payments-summary. No I/O.
//
// Window rules match the processors' admin summary exactly: requestedAt BETWEEN from AND to
// (inclusive), and when either bound is missing every payment counts. Our requestedAt values are
// whole milliseconds, so bounds with sub-millisecond digits round inwards: from up, to down.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "common/money.hpp"
#include "common/time.hpp"

namespace rinha::summary {

struct ProcessorTotals {
  int64_t requests = 0;
  Cents amount;
  void add(Cents c) {
    ++requests;
    amount += c;
  }
  friend bool operator==(const ProcessorTotals&, const ProcessorTotals&) = default;
};

struct SummaryTotals {
  ProcessorTotals default_totals;
  ProcessorTotals fallback_totals;
  friend bool operator==(const SummaryTotals&, const SummaryTotals&) = default;
};

// Inclusive millisecond range. from > to is a valid, empty window.
struct Window {
  int64_t from_ms = std::numeric_limits<int64_t>::min();
  int64_t to_ms = std::numeric_limits<int64_t>::max();
  bool contains(UtcMillis t) const { return t.value >= from_ms && t.value <= to_ms; }
  bool is_all() const {
    return from_ms == std::numeric_limits<int64_t>::min() &&
           to_ms == std::numeric_limits<int64_t>::max();
  }
};

Window make_window(std::optional<UtcMicros> from, std::optional<UtcMicros> to);

// {"default":{"totalRequests":N,"totalAmount":X.YY},"fallback":{...}}
std::string to_json(const SummaryTotals& t);

}  // namespace rinha::summary
