// CLI wiring of the processor emulator: flags -> EmulatorOptions -> serve until a signal.
// Flags mirror the real container's environment (TRANSACTION_FEE, INITIAL_TOKEN,
// RATE_LIMIT_SECONDS) plus the limiter sizes, which tests shrink.
#include "instrument/emulator/command.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "instrument/emulator/emulator.hpp"
#include "net/address.hpp"
#include "net/signals.hpp"

namespace rinha::emulator {
namespace {

int run(const EmulatorOptions& opts) {
  const net::TerminationSignals signals;  // before the server threads exist
  Emulator emu(opts);
  Status st = emu.start();
  if (!st.is_ok()) {
    std::fprintf(stderr, "rinhactl processor: %s\n", st.message().c_str());
    return 2;
  }
  std::fprintf(stderr, "processor '%s' listening on %s:%u (fee %s, token %s)\n", opts.name.c_str(),
               opts.host.c_str(), emu.port(), opts.fee.c_str(), opts.token.c_str());
  signals.wait();
  emu.stop();
  return 0;
}

}  // namespace

void add_processor_command(CLI::App& app) {
  auto opts = std::make_shared<EmulatorOptions>();
  auto listen = std::make_shared<std::string>("127.0.0.1:8001");
  CLI::App* cmd = app.add_subcommand("processor", "run a payment processor emulator");
  cmd->add_option("--name", opts->name, "label for logs (default|fallback)")->capture_default_str();
  cmd->add_option("--listen", *listen, "host:port to listen on (port 0: any free)")
      ->capture_default_str();
  cmd->add_option("--fee", opts->fee, "TRANSACTION_FEE as decimal text (0.07 = 7%)")
      ->capture_default_str();
  cmd->add_option("--token", opts->token, "initial X-Rinha-Token")->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Pistache reactor threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--rate-limit-seconds", opts->rate_limit_seconds, "health window length (s)")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--permits", opts->permits, "concurrency limiter permits")->capture_default_str();
  cmd->add_option("--queue", opts->queue, "concurrency limiter FIFO queue")->capture_default_str();
  cmd->add_option("--insert-latency-ms", opts->insert_latency_ms,
                  "database insert time after the delay, before the commit")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--insert-jitter-ms", opts->insert_jitter_ms,
                  "uniform extra insert time in [0, this]")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--commit-pause-ms", opts->commit_pause_ms,
                  "pause between the commit and the 200 (the payment already counts)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->callback([opts, listen] {
    auto hp = net::parse_host_port(*listen);
    if (!hp.is_ok()) throw CLI::ValidationError("--listen", hp.status().message());
    opts->host = hp->host;
    opts->port = hp->port;
    if (const int rc = run(*opts); rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace rinha::emulator
