// errno_text over the GNU strerror_r (glibc: returns the message, from its own static table or
// from buf; never writes shared state).
#include "common/errno_text.hpp"

#include <string.h>

namespace rinha {

std::string errno_text(int err) {
  char buf[128];
  return ::strerror_r(err, buf, sizeof buf);
}

}  // namespace rinha
