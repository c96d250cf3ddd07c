// The two payment processors, named once. Pure: no I/O header.
#pragma once

#include <cstdint>
#include <string_view>

namespace rinha::router {

enum class Processor : uint8_t { kDefault = 0, kFallback = 1 };
inline constexpr int kProcessorCount = 2;

inline int index(Processor p) { return static_cast<int>(p); }
inline Processor other(Processor p) {
  return p == Processor::kDefault ? Processor::kFallback : Processor::kDefault;
}
inline std::string_view name(Processor p) {
  return p == Processor::kDefault ? "default" : "fallback";
}

}  // namespace rinha::router
