// CLI wiring of the do-nothing backend: --listen host:port -> NoopServer until a signal.
#include "instrument/noop/command.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "instrument/noop/server.hpp"

namespace rinha::noop {
namespace {

int run(const std::string& host, uint16_t port) {
  // Blocked before the loop thread exists so that sigwait() below is the only receiver.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  NoopServer server;
  Status st = server.start(host, port);
  if (!st.is_ok()) {
    std::fprintf(stderr, "rinhactl noop: %s\n", st.message().c_str());
    return 2;
  }
  std::fprintf(stderr, "noop backend listening on %s:%u\n", host.c_str(), server.port());
  int sig = 0;
  sigwait(&set, &sig);
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
    auto colon = listen->rfind(':');
    if (colon == std::string::npos) throw CLI::ValidationError("--listen", "expected host:port");
    std::exit(run(listen->substr(0, colon),
                  static_cast<uint16_t>(std::atoi(listen->c_str() + colon + 1))));
  });
}

}  // namespace rinha::noop
