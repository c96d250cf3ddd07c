// The two payment processors, named once. Pure: no I/O header. In common because the router,
// health, processor, ledger, hand-off journal and worker all speak of them.
#pragma once

#include <cstdint>
#include <string_view>

namespace rinha {

enum class Processor : uint8_t { kDefault = 0, kFallback = 1 };
inline constexpr int kProcessorCount = 2;

inline int processor_index(Processor p) { return static_cast<int>(p); }
inline Processor other_processor(Processor p) {
  return p == Processor::kDefault ? Processor::kFallback : Processor::kDefault;
}
inline std::string_view processor_name(Processor p) {
  return p == Processor::kDefault ? "default" : "fallback";
}

}  // namespace rinha
