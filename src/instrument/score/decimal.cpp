// Exact decimal arithmetic for the score (see decimal.hpp). Scales add on multiplication, as in
// .NET decimal and Big.js, and trailing zeros are trimmed only when printing.
#include "instrument/score/decimal.hpp"

#include <algorithm>

namespace rinha::score {
namespace {

constexpr int kMaxScale = 30;
constexpr int kMaxDigits = 36;

__int128 pow10(int n) {
  __int128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

// Brings both operands to the larger scale.
void align(const Decimal& a, const Decimal& b, __int128* ua, __int128* ub, int* scale) {
  *scale = std::max(a.scale(), b.scale());
  *ua = a.units() * pow10(*scale - a.scale());
  *ub = b.units() * pow10(*scale - b.scale());
}

}  // namespace

Result<Decimal> Decimal::parse(std::string_view s) {
  auto number = scan_json_number(s);  // the amounts' grammar (common/money.hpp)
  if (!number.is_ok()) return Status::invalid_argument("not a decimal number");
  const std::string& digits = number->digits;
  const int64_t exp10 = number->exp10;
  const int64_t scale = exp10 < 0 ? -exp10 : 0;
  const int64_t width = static_cast<int64_t>(digits.size()) + (exp10 > 0 ? exp10 : 0);
  if (digits.empty()) return Decimal(0, static_cast<int>(std::min<int64_t>(scale, kMaxScale)));
  if (width > kMaxDigits || scale > kMaxScale)
    return Status::invalid_argument("decimal out of range");
  __int128 units = 0;
  for (char c : digits) units = units * 10 + (c - '0');
  if (exp10 > 0) units *= pow10(static_cast<int>(exp10));
  return Decimal(number->negative ? -units : units, static_cast<int>(scale));
}

std::string Decimal::to_string() const {
  __int128 u = units_ < 0 ? -units_ : units_;
  int scale = scale_;
  while (scale > 0 && u % 10 == 0) {
    u /= 10;
    --scale;
  }
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u > 0);
  while (static_cast<int>(digits.size()) <= scale) digits.push_back('0');
  std::reverse(digits.begin(), digits.end());
  if (scale > 0) digits.insert(digits.end() - scale, '.');
  if (units_ < 0) return "-" + digits;  // units_ != 0 here, so never "-0"
  return digits;
}

Decimal Decimal::round_half_up(int places) const {
  if (places >= scale_) return *this;
  __int128 div = pow10(scale_ - places);
  __int128 u = units_ < 0 ? -units_ : units_;
  __int128 q = u / div;
  if ((u % div) * 2 >= div) ++q;
  return Decimal(units_ < 0 ? -q : q, places);
}

Decimal Decimal::operator+(const Decimal& o) const {
  __int128 a, b;
  int s;
  align(*this, o, &a, &b, &s);
  return Decimal(a + b, s);
}

Decimal Decimal::operator-(const Decimal& o) const {
  __int128 a, b;
  int s;
  align(*this, o, &a, &b, &s);
  return Decimal(a - b, s);
}

Decimal Decimal::operator*(const Decimal& o) const {
  return Decimal(units_ * o.units_, scale_ + o.scale_);
}

int Decimal::compare(const Decimal& o) const {
  __int128 a, b;
  int s;
  align(*this, o, &a, &b, &s);
  return a < b ? -1 : (a > b ? 1 : 0);
}

Cents Decimal::to_cents() const {
  if (scale_ <= 2) return Cents{static_cast<int64_t>(units_ * pow10(2 - scale_))};
  return Cents{static_cast<int64_t>(units_ / pow10(scale_ - 2))};
}

}  // namespace rinha::score
