// Little-endian integer encoding shared by the hand-off frames and the journal records.
#pragma once

#include <cstdint>
#include <string>

namespace rinha::handoff::wire {

inline void put_u8(std::string& o, uint8_t v) { o.push_back(static_cast<char>(v)); }
inline void put_u32(std::string& o, uint32_t v) {
  for (int i = 0; i < 4; ++i) o.push_back(static_cast<char>(v >> (8 * i)));
}
inline void put_u64(std::string& o, uint64_t v) {
  for (int i = 0; i < 8; ++i) o.push_back(static_cast<char>(v >> (8 * i)));
}
inline void put_i64(std::string& o, int64_t v) { put_u64(o, static_cast<uint64_t>(v)); }

// p must hold at least 4 (8) bytes.
inline uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
inline uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
inline int64_t get_i64(const char* p) { return static_cast<int64_t>(get_u64(p)); }

}  // namespace rinha::handoff::wire
