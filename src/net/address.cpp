#include "net/address.hpp"

#include <sys/un.h>

namespace rinha::net {

Result<HostPort> parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return Status::invalid_argument("expected host:port, got '" + std::string(text) + "'");
  const std::string_view digits = text.substr(colon + 1);
  if (digits.empty() || digits.size() > 5)
    return Status::invalid_argument("bad port in '" + std::string(text) + "'");
  uint32_t port = 0;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return Status::invalid_argument("bad port in '" + std::string(text) + "'");
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port > 65535)
    return Status::invalid_argument("port out of range in '" + std::string(text) + "'");
  HostPort hp;
  hp.host = std::string(text.substr(0, colon));
  if (hp.host == "localhost") hp.host = "127.0.0.1";
  if (hp.host.empty() || hp.host == "*") hp.host = "0.0.0.0";
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

Result<Endpoint> parse_endpoint(std::string_view text) {
  Endpoint e;
  if (text.substr(0, 5) == "unix:") {
    e.unix_path = std::string(text.substr(5));
    if (e.unix_path.empty()) return Status::invalid_argument("unix: needs a path");
    if (e.unix_path.size() >= sizeof(sockaddr_un::sun_path))
      return Status::invalid_argument("unix socket path too long: '" + e.unix_path + "'");
    return e;
  }
  auto hp = parse_host_port(text);
  if (!hp.is_ok()) return hp.status();
  e.tcp = std::move(*hp);
  return e;
}

}  // namespace rinha::net
