// libFuzzer target: summary query (from/to) and ISO-8601 parsing. Any input: no crash; a parsed
// instant formats and parses back to itself at millisecond precision.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "api/request_parser.hpp"
#include "common/time.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  auto cut = s.find('&');
  std::optional<std::string> from = s.substr(0, cut);
  std::optional<std::string> to;
  if (cut != std::string::npos) to = s.substr(cut + 1);
  auto w = rinha::api::parse_summary_query(from, to);
  if (w.is_ok() && from && to && w->is_all()) std::abort();  // two bounds never mean "all"
  auto t = rinha::parse_iso8601(s);
  if (t.is_ok()) {
    int64_t ms = t->value / 1000 - (t->value % 1000 < 0 ? 1 : 0);
    auto back = rinha::parse_iso8601(rinha::format_iso8601(rinha::UtcMillis{ms}));
    if (!back.is_ok() || back->value != ms * 1000) std::abort();
  }
  return 0;
}
