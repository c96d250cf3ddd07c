// Exact decimal parsing of amounts into cents (JSON number grammar, no floating point).
#include "common/money.hpp"

#include <algorithm>

namespace rinha {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<DecimalText> scan_json_number(std::string_view s) {
  const Status bad = Status::malformed("not a JSON number");
  DecimalText out;
  size_t i = 0;
  if (i < s.size() && s[i] == '-') {
    out.negative = true;
    ++i;
  }
  size_t int_start = i;
  while (i < s.size() && is_digit(s[i])) out.digits.push_back(s[i++]);
  if (i == int_start) return bad;
  if (i - int_start > 1 && s[int_start] == '0') return bad;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t frac_start = i;
    while (i < s.size() && is_digit(s[i])) {
      out.digits.push_back(s[i++]);
      --out.exp10;
    }
    if (i == frac_start) return bad;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool neg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    size_t exp_start = i;
    int64_t e = 0;
    while (i < s.size() && is_digit(s[i])) {
      if (e < 100000) e = e * 10 + (s[i] - '0');
      ++i;
    }
    if (i == exp_start) return bad;
    out.exp10 += neg ? -e : e;
  }
  if (i != s.size()) return bad;
  out.digits.erase(0, std::min(out.digits.find_first_not_of('0'), out.digits.size()));
  return out;
}

Result<Cents> parse_amount(std::string_view s, Rounding rounding) {
  // A minus sign is read like any JSON number (so "-Infinity" is malformed, not negative) and
  // refused once the number is known to be well-formed.
  auto number = scan_json_number(s);
  if (!number.is_ok()) return Status::malformed("amount must be a number");
  if (number->negative) return Status::invalid_argument("amount must be greater than 0");
  if (number->digits.empty()) return Status::invalid_argument("amount must be greater than 0");
  const std::string& digits = number->digits;
  const int64_t exp10 = number->exp10;

  // Shift to cents: cents = digits x 10^(exp10 + 2).
  int64_t shift = exp10 + 2;
  std::string whole = digits;  // integer part of the cents value
  std::string rest;            // digits below one cent
  if (shift >= 0) {
    if (static_cast<int64_t>(whole.size()) + shift > 18)
      return Status::invalid_argument("amount is too large");
    whole.append(static_cast<size_t>(shift), '0');
  } else {
    size_t drop = static_cast<size_t>(-shift);
    if (drop >= whole.size()) {
      rest = std::string(drop - whole.size(), '0') + whole;
      whole.clear();
    } else {
      rest = whole.substr(whole.size() - drop);
      whole.erase(whole.size() - drop);
    }
  }
  if (whole.size() > 18) return Status::invalid_argument("amount is too large");
  int64_t cents = 0;
  for (char c : whole) cents = cents * 10 + (c - '0');

  bool has_rest = rest.find_first_not_of('0') != std::string::npos;
  if (has_rest) {
    if (rounding == Rounding::kRejectExtraDecimals)
      return Status::invalid_argument("amount must have at most 2 decimal places");
    // Half-even: compare the dropped part with one half.
    int cmp;
    if (rest[0] > '5') {
      cmp = 1;
    } else if (rest[0] < '5') {
      cmp = -1;
    } else {
      cmp = rest.find_first_not_of('0', 1) != std::string::npos ? 1 : 0;
    }
    if (cmp > 0 || (cmp == 0 && (cents % 2) == 1)) ++cents;
  }
  if (cents <= 0) return Status::invalid_argument("amount must be at least 0.01");
  if (cents > kMaxAmountCents) return Status::invalid_argument("amount is too large");
  return Cents{cents};
}

std::string format_cents(Cents c) {
  int64_t v = c.value;
  bool neg = v < 0;
  uint64_t a = neg ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
  std::string out = std::to_string(a / 100);
  out.push_back('.');
  uint64_t frac = a % 100;
  out.push_back(static_cast<char>('0' + frac / 10));
  out.push_back(static_cast<char>('0' + frac % 10));
  return neg ? "-" + out : out;
}

}  // namespace rinha
