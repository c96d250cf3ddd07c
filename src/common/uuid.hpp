// Correlation ids: a UUID held as 16 bytes, parsed from and printed as canonical 8-4-4-4-12 hex.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.hpp"

namespace rinha {

struct Uuid {
  std::array<uint8_t, 16> bytes{};
  friend bool operator==(const Uuid&, const Uuid&) = default;
  friend auto operator<=>(const Uuid&, const Uuid&) = default;
};

// Accepts exactly 36 characters "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", hex in either case.
// Any version/variant is accepted: the contract only says "a UUID".
Result<Uuid> parse_uuid(std::string_view text);

// Lowercase canonical form.
std::string format_uuid(const Uuid& id);

struct UuidHash {
  size_t operator()(const Uuid& id) const {
    uint64_t a, b;
    std::memcpy(&a, id.bytes.data(), 8);
    std::memcpy(&b, id.bytes.data() + 8, 8);
    return static_cast<size_t>(a * 0x9E3779B97F4A7C15ULL ^ b);
  }
};

}  // namespace rinha
