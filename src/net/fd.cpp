#include "net/fd.hpp"

#include <unistd.h>

namespace rinha::net {

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace rinha::net
