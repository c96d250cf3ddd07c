// MappedFile: a file appended through a MAP_SHARED mapping of its preallocated prefix, so that an
// append is a memcpy on the caller's thread, not a write(2). A page written through the mapping
// is in the page cache at once and outlives a crash of the process, as a write(2) would.
// Space is reserved with posix_fallocate (in kStep steps) before it is mapped: a full disk is an
// error at reservation, never a SIGBUS on a store into an unbacked page. sync() is msync(MS_SYNC)
// of the range written, the fdatasync(2) of a mapping. Not thread-safe: the owner serialises.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.hpp"

namespace rinha::handoff {

class MappedFile {
 public:
  static constexpr uint64_t kStep = 1u << 20;

  // Takes ownership of fd (opened O_RDWR without O_APPEND; -1: none).
  explicit MappedFile(int fd = -1) : fd_(fd) {}
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  int fd() const { return fd_; }
  // Bytes preallocated and mapped from offset 0 (the file is at least that long).
  uint64_t capacity() const { return cap_; }

  // Preallocates and maps at least [0, size), rounded up to kStep.
  Status reserve(uint64_t size);
  // Copies data to [off, off + data.size()), reserving first if needed; sync: msync the range.
  Status write(uint64_t off, std::string_view data, bool sync);
  // Cuts the file to size and drops the mapping (the next write reserves again).
  Status truncate(uint64_t size);

 private:
  void unmap();

  int fd_ = -1;
  char* map_ = nullptr;
  uint64_t cap_ = 0;
};

}  // namespace rinha::handoff
