// Stream sockets on a net::Endpoint ("unix:/path" or "host:port", an IPv4 literal).
// Returned descriptors are owned by the caller and CLOEXEC.
//
// Threading: plain functions.
#pragma once

#include <string>

#include "common/status.hpp"
#include "net/fd.hpp"

namespace rinha::net {

// Binds and listens, non-blocking; a stale Unix socket file at the path is removed first.
Result<Fd> listen_on(const std::string& address);
// Connects (blocking connect, bounded by the OS for loopback), then switches to non-blocking;
// TCP_NODELAY on TCP.
Result<Fd> connect_to(const std::string& address);

}  // namespace rinha::net
