// CLI wiring of the do-nothing backend: --listen host:port -> NoopServer until a signal.
#include "instrument/noop/command.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "instrument/noop/server.hpp"
#include "net/address.hpp"
#include "net/signals.hpp"

namespace rinha::noop {
namespace {

int run(const std::string& host, uint16_t port) {
  const net::TerminationSignals signals;  // before the loop thread exists
  NoopServer server;
  Status st = server.start(host, port);
  if (!st.is_ok()) {
    std::fprintf(stderr, "rinhactl noop: %s\n", st.message().c_str());
    return 2;
  }
  std::fprintf(stderr, "noop backend listening on %s:%u\n", host.c_str(), server.port());
  signals.wait();
  server.stop();
  return 0;
}

}  // namespace

void add_noop_command(CLI::App& app) {
  auto listen = std::make_shared<std::string>("127.0.0.1:9999");
  CLI::App* cmd = app.add_subcommand(
      "noop", "do-nothing backend: answers every request at once (202; zero summary), the floor");
  cmd->add_option("--listen", *listen, "host:port to listen on (port 0: any free)")
      ->capture_default_str();
  cmd->callback([listen] {
    auto hp = net::parse_host_port(*listen);
    if (!hp.is_ok()) throw CLI::ValidationError("--listen", hp.status().message());
    if (const int rc = run(hp->host, hp->port); rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace rinha::noop
