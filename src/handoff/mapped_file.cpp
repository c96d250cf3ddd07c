// Append through a mapping of a preallocated file (why: mapped_file.hpp).
#include "handoff/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "common/errno_text.hpp"

namespace rinha::handoff {

MappedFile::~MappedFile() {
  unmap();
  if (fd_ >= 0) ::close(fd_);
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      map_(std::exchange(o.map_, nullptr)),
      cap_(std::exchange(o.cap_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    unmap();
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    map_ = std::exchange(o.map_, nullptr);
    cap_ = std::exchange(o.cap_, 0);
  }
  return *this;
}

void MappedFile::unmap() {
  if (map_) ::munmap(map_, cap_);
  map_ = nullptr;
  cap_ = 0;
}

Status MappedFile::reserve(uint64_t size) {
  if (size <= cap_) return Status::ok();
  const uint64_t want = (size + kStep - 1) / kStep * kStep;
  // posix_fallocate returns the error instead of setting errno.
  if (int rc = ::posix_fallocate(fd_, 0, static_cast<off_t>(want)); rc != 0)
    return Status::io_error("journal: cannot reserve " + std::to_string(want) +
                            " bytes: " + errno_text(rc));
  void* m = map_ ? ::mremap(map_, cap_, want, MREMAP_MAYMOVE)
                 : ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (m == MAP_FAILED) return Status::io_error("journal: mmap: " + errno_text(errno));
  map_ = static_cast<char*>(m);
  cap_ = want;
  return Status::ok();
}

Status MappedFile::write(uint64_t off, std::string_view data, bool sync) {
  if (data.empty()) return Status::ok();
  Status s = reserve(off + data.size());
  if (!s.is_ok()) return s;
  std::memcpy(map_ + off, data.data(), data.size());
  if (sync) {
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t start = off / page * page;
    if (::msync(map_ + start, off + data.size() - start, MS_SYNC) != 0)
      return Status::io_error("journal: msync: " + errno_text(errno));
  }
  return Status::ok();
}

Status MappedFile::truncate(uint64_t size) {
  unmap();
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
    return Status::io_error("journal truncate: " + errno_text(errno));
  return Status::ok();
}

}  // namespace rinha::handoff
