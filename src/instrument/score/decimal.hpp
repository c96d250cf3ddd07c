// Decimal (pure): exact fixed-point decimals for money totals, fee rates and the score, so that
// figures such as 29098.7655 or 790860.867615 come out to the last digit, as Big.js prints them.
// Values are units x 10^-scale in a 128-bit integer; nothing here uses floating point.
// Thread-safe: a plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/money.hpp"
#include "common/status.hpp"

namespace rinha::score {

class Decimal {
 public:
  Decimal() = default;
  static Decimal from_cents(Cents c) { return Decimal(c.value, 2); }
  static Decimal from_int(int64_t v) { return Decimal(v, 0); }
  // units x 10^-scale; scale in [0, 30].
  static Decimal of(__int128 units, int scale) { return Decimal(units, scale); }

  // Parses plain decimal text: optional '-', digits, optional '.' and digits, optional exponent
  // (JSON number grammar). Fails on anything else or beyond 30 decimals / 36 digits.
  static Result<Decimal> parse(std::string_view text);

  // Shortest exact text, like Big.js toString(): no trailing fractional zeros, no exponent
  // ("29098.7655", "737198.4", "0", "-1.5").
  std::string to_string() const;
  // Rounded half-up (away from zero on ties, Big.js ROUND_HALF_UP) to `places` decimals.
  Decimal round_half_up(int places) const;

  Decimal operator+(const Decimal& o) const;
  Decimal operator-(const Decimal& o) const;
  Decimal operator*(const Decimal& o) const;
  friend bool operator==(const Decimal& a, const Decimal& b) { return a.compare(b) == 0; }
  friend bool operator<(const Decimal& a, const Decimal& b) { return a.compare(b) < 0; }
  int compare(const Decimal& o) const;
  bool is_zero() const { return units_ == 0; }
  __int128 units() const { return units_; }
  int scale() const { return scale_; }
  // Whole cents when scale <= 2 (exact), else truncated toward zero.
  Cents to_cents() const;

 private:
  Decimal(__int128 units, int scale) : units_(units), scale_(scale) {}
  __int128 units_ = 0;
  int scale_ = 0;
};

}  // namespace rinha::score
