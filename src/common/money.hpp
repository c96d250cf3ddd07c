// Money: integer cents in a named type, and the exact decimal text <-> cents conversions.
// Floats never hold money here: amounts are parsed from their JSON text digit by digit.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.hpp"

namespace rinha {

struct Cents {
  int64_t value = 0;
  friend bool operator==(Cents a, Cents b) { return a.value == b.value; }
  friend auto operator<=>(Cents a, Cents b) { return a.value <=> b.value; }
  Cents& operator+=(Cents o) {
    value += o.value;
    return *this;
  }
};

// Largest single amount accepted: 1e9 units (1e11 cents), so that 9e7 such payments still sum
// inside int64.
inline constexpr int64_t kMaxAmountCents = 100'000'000'000LL;

// A JSON number's text, split exactly: value = (negative ? -1 : 1) x digits x 10^exp10.
// digits has no leading zeros ("" for zero); exp10 is clamped to +-100000 (far past any use).
struct DecimalText {
  bool negative = false;
  std::string digits;
  int64_t exp10 = 0;
};

// The one number grammar (RFC 8259 `number`: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?),
// shared by amounts (below) and score::Decimal. Fails with kMalformed on anything else,
// including "-Infinity", "NaN", "+1", "01", "1." and surrounding blanks.
Result<DecimalText> scan_json_number(std::string_view text);

enum class Rounding {
  kRejectExtraDecimals,  // 19.90 and 19.900 are fine; 19.901 is an error (api input policy)
  kHalfEven,             // round to 2 decimals, ties to even (what the processors do)
};

// Parses a JSON number's text (e.g. "19.9", "1990e-2", "20") into cents. Fails with kMalformed
// on anything that is not a JSON number, and with kInvalidArgument on a negative or zero result, on
// more than kMaxAmountCents, and with kRejectExtraDecimals on a non-zero digit past the second
// decimal.
Result<Cents> parse_amount(std::string_view text, Rounding rounding);

// "1234.50" style text for JSON output (always two decimals, exact).
std::string format_cents(Cents c);

}  // namespace rinha
