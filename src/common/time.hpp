// Time: wall-clock instants (UTC, shown and sent as requestedAt) and monotonic instants (to
// measure and time out) are distinct types, and both come from a Clock that tests can replace.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.hpp"

namespace rinha {

// Microseconds since the Unix epoch, UTC. requestedAt values are whole milliseconds; query bounds
// keep microseconds so that inclusive comparisons stay exact (see summary::Window in
// summary/summary.hpp).
struct UtcMicros {
  int64_t value = 0;
  friend auto operator<=>(UtcMicros, UtcMicros) = default;
};

struct UtcMillis {
  int64_t value = 0;
  friend auto operator<=>(UtcMillis, UtcMillis) = default;
};

using SteadyTime = std::chrono::steady_clock::time_point;

// Parses ISO-8601 date-time as JavaScript toISOString() writes it ("2025-07-10T12:34:56.000Z"),
// also accepting no fraction, 1-9 fraction digits (past microseconds truncated), a space instead
// of 'T', a "+HH:MM"/"-HH:MM" offset, or no zone (taken as UTC). Fails on anything else,
// including out-of-range fields such as month 13 or Feb 30.
Result<UtcMicros> parse_iso8601(std::string_view text);

// "2025-07-10T12:34:56.123Z": always milliseconds and 'Z', the form the processors are sent.
std::string format_iso8601(UtcMillis t);

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UtcMillis now_utc() const = 0;
  virtual SteadyTime now_steady() const = 0;
};

class SystemClock final : public Clock {
 public:
  UtcMillis now_utc() const override;
  SteadyTime now_steady() const override { return std::chrono::steady_clock::now(); }
};

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(UtcMillis start) : utc_(start) {}
  UtcMillis now_utc() const override { return utc_; }
  SteadyTime now_steady() const override { return steady_; }
  void advance(std::chrono::milliseconds d) {
    utc_.value += d.count();
    steady_ += d;
  }

 private:
  UtcMillis utc_;
  SteadyTime steady_{};
};

}  // namespace rinha
