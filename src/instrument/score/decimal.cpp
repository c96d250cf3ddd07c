// Exact decimal arithmetic for the score (see decimal.hpp). Scales add on multiplication, as in
// .NET decimal and Big.js, and trailing zeros are trimmed only when printing.
#include "instrument/score/decimal.hpp"

#include <algorithm>

namespace rinha::score {
namespace {

constexpr int kMaxScale = 30;

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
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && s[i] == '-') {
    neg = true;
    ++i;
  }
  __int128 units = 0;
  int scale = 0;
  int digits = 0;
  size_t start = i;
  auto take = [&](char c) {
    if (digits > 0 || c != '0') ++digits;
    units = units * 10 + (c - '0');
  };
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') take(s[i++]);
  if (i == start) return Status::invalid_argument("not a decimal number");
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t fs = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      take(s[i++]);
      ++scale;
    }
    if (i == fs) return Status::invalid_argument("not a decimal number");
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    size_t es = i;
    int e = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      e = std::min(e * 10 + (s[i++] - '0'), 1000);
    }
    if (i == es) return Status::invalid_argument("not a decimal number");
    if (eneg) {
      scale += e;
    } else if (e <= scale) {
      scale -= e;
    } else {
      if (digits + (e - scale) > 36) return Status::invalid_argument("decimal too large");
      units *= pow10(e - scale);
      digits += e - scale;
      scale = 0;
    }
  }
  if (i != s.size()) return Status::invalid_argument("not a decimal number");
  if (digits > 36 || scale > kMaxScale) return Status::invalid_argument("decimal out of range");
  return Decimal(neg ? -units : units, scale);
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
