#include "net/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/errno_text.hpp"
#include "net/address.hpp"

namespace rinha::net {
namespace {

struct Target {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_UNIX;
  std::string unix_path;
};

Result<Target> resolve(const std::string& address) {
  auto e = parse_endpoint(address);
  if (!e.is_ok()) return e.status();
  Target t;
  if (e->is_unix()) {
    t.unix_path = e->unix_path;
    auto* sun = reinterpret_cast<sockaddr_un*>(&t.addr);
    sun->sun_family = AF_UNIX;
    std::memcpy(sun->sun_path, t.unix_path.c_str(), t.unix_path.size() + 1);
    t.len = sizeof(sockaddr_un);
    t.family = AF_UNIX;
    return t;
  }
  auto* sin = reinterpret_cast<sockaddr_in*>(&t.addr);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(e->tcp.port);
  if (inet_pton(AF_INET, e->tcp.host.c_str(), &sin->sin_addr) != 1)
    return Status::invalid_argument("expected an IPv4 address in " + address);
  t.len = sizeof(sockaddr_in);
  t.family = AF_INET;
  return t;
}

Status errno_status(const std::string& what) {
  return Status::io_error(what + ": " + errno_text(errno));
}

}  // namespace

Result<Fd> listen_on(const std::string& address) {
  auto t = resolve(address);
  if (!t.is_ok()) return t.status();
  Fd fd(::socket(t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_status("socket");
  if (t->family == AF_UNIX) {
    ::unlink(t->unix_path.c_str());
  } else {
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&t->addr), t->len) != 0)
    return errno_status("bind " + address);
  if (::listen(fd.get(), 128) != 0) return errno_status("listen " + address);
  return fd;
}

Result<Fd> connect_to(const std::string& address) {
  auto t = resolve(address);
  if (!t.is_ok()) return t.status();
  Fd fd(::socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_status("socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&t->addr), t->len) != 0)
    return errno_status("connect " + address);
  if (t->family == AF_INET) {
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  int flags = ::fcntl(fd.get(), F_GETFL, 0);
  ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
  return fd;
}

}  // namespace rinha::net
