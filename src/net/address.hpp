// Addresses as rinha's configuration and command lines spell them: "host:port" (an IPv4 literal,
// "localhost", or empty / "*" for every interface) or "unix:/path". One grammar for the api,
// the worker's listeners, the hand-off, the metrics servers and the instrument.
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.hpp"

namespace rinha::net {

struct HostPort {
  std::string host;  // normalized: "localhost" -> "127.0.0.1", "" and "*" -> "0.0.0.0"
  uint16_t port = 0;
};

// "host:port" with a decimal port in 0..65535 (0: any free port). The host is not resolved.
Result<HostPort> parse_host_port(std::string_view text);

// "unix:/path" (path shorter than sun_path) or "host:port".
struct Endpoint {
  std::string unix_path;  // set for unix:, empty for TCP
  HostPort tcp;
  bool is_unix() const { return !unix_path.empty(); }
};
Result<Endpoint> parse_endpoint(std::string_view text);

}  // namespace rinha::net
