// ISO-8601 parsing/formatting with civil-date arithmetic (no timegm, no locale, no TZ env).
#include "common/time.hpp"

#include <cstdio>

namespace rinha {
namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n digits at s[i..]; advances i.
bool digits(std::string_view s, size_t& i, int n, int& out) {
  if (i + n > s.size()) return false;
  out = 0;
  for (int k = 0; k < n; ++k) {
    char c = s[i + k];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  i += n;
  return true;
}

}  // namespace

Result<UtcMicros> parse_iso8601(std::string_view s) {
  auto bad = [&] {
    return Status::invalid_argument("not an ISO-8601 UTC date-time: '" +
                                    std::string(s.substr(0, 64)) + "'");
  };
  size_t i = 0;
  int year, month, day, hour, minute, second;
  if (!digits(s, i, 4, year) || i >= s.size() || s[i++] != '-') return bad();
  if (!digits(s, i, 2, month) || i >= s.size() || s[i++] != '-') return bad();
  if (!digits(s, i, 2, day) || i >= s.size() || (s[i] != 'T' && s[i] != 't' && s[i] != ' '))
    return bad();
  ++i;
  if (!digits(s, i, 2, hour) || i >= s.size() || s[i++] != ':') return bad();
  if (!digits(s, i, 2, minute) || i >= s.size() || s[i++] != ':') return bad();
  if (!digits(s, i, 2, second)) return bad();
  if (month < 1 || month > 12 || day < 1 || day > static_cast<int>(days_in_month(year, month)) ||
      hour > 23 || minute > 59 || second > 59)
    return bad();
  int64_t micros = 0;
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    int n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (n < 6) micros = micros * 10 + (s[i] - '0');
      ++n;
      ++i;
    }
    if (n == 0 || n > 9) return bad();
    for (int k = n; k < 6; ++k) micros *= 10;
  }
  int64_t offset_s = 0;
  if (i < s.size()) {
    if (s[i] == 'Z' || s[i] == 'z') {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      int sign = s[i++] == '-' ? -1 : 1;
      int oh, om;
      if (!digits(s, i, 2, oh)) return bad();
      if (i < s.size() && s[i] == ':') ++i;
      if (!digits(s, i, 2, om) || oh > 23 || om > 59) return bad();
      offset_s = sign * (int64_t{oh} * 3600 + int64_t{om} * 60);
    } else {
      return bad();
    }
  }
  if (i != s.size()) return bad();
  int64_t secs = days_from_civil(year, month, day) * 86400 + int64_t{hour} * 3600 +
                 int64_t{minute} * 60 + second - offset_s;
  return UtcMicros{secs * 1'000'000 + micros};
}

std::string format_iso8601(UtcMillis t) {
  int64_t ms = t.value;
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int64_t frac = ms - secs * 1000;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t sod = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(sod / 3600),
                static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60),
                static_cast<long long>(frac));
  return buf;
}

UtcMillis SystemClock::now_utc() const {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return UtcMillis{std::chrono::duration_cast<std::chrono::milliseconds>(now).count()};
}

}  // namespace rinha
