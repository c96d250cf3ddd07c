// handoff.durability: when an accepted payment counts as safe, so when POST /payments may answer
// 2xx. One enum for the config, the api and the worker (see handoff/journal.hpp for the costs).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace rinha {

enum class Durability : uint8_t {
  kNone,     // in the api's memory only: no journal
  kProcess,  // in the journal's mapping: survives a crash of any process
  kMachine,  // and msync'ed: survives power loss
};
// The config spelling, indexed by the enum's value.
inline constexpr std::array<std::string_view, 3> kDurabilityNames{"none", "process", "machine"};
inline std::string_view durability_name(Durability d) {
  return kDurabilityNames[static_cast<size_t>(d)];
}

}  // namespace rinha
