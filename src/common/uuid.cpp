// UUID text <-> bytes.
#include "common/uuid.hpp"

namespace rinha {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<Uuid> parse_uuid(std::string_view s) {
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
    return Status::invalid_argument("correlationId must be a UUID (8-4-4-4-12 hex digits)");
  Uuid id;
  size_t out = 0;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '-') {
      ++i;
      continue;
    }
    int hi = hex_value(s[i]);
    int lo = hex_value(s[i + 1]);
    if (hi < 0 || lo < 0)
      return Status::invalid_argument("correlationId must be a UUID (8-4-4-4-12 hex digits)");
    id.bytes[out++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return id;
}

std::string format_uuid(const Uuid& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[id.bytes[i] >> 4]);
    out.push_back(kHex[id.bytes[i] & 15]);
  }
  return out;
}

}  // namespace rinha
