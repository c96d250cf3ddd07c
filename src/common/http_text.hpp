// Text helpers for HTTP/1.x heads, shared by the hand-written framers (the noop backend's
// requests, the load tool's responses): header names compare case-insensitively, and values
// are trimmed of optional whitespace (SP and HTAB, RFC 9110 5.6.3). Pure, header-only.
#pragma once

#include <cctype>
#include <string_view>

namespace rinha {

inline bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace rinha
