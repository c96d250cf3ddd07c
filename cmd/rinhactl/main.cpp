// rinhactl: operator and measuring commands; each subcommand lives in its module.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "instrument/emulator/command.hpp"
#include "instrument/loadgen/command.hpp"
#include "instrument/noop/command.hpp"
#include "instrument/report/command.hpp"
#include "instrument/stack/command.hpp"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"rinhactl: operate and measure rinha"};
  app.require_subcommand(1);
  rinha::emulator::add_processor_command(app);
  rinha::loadgen::add_load_command(app);
  rinha::loadgen::add_ops_commands(app);
  rinha::noop::add_noop_command(app);
  rinha::report::add_report_command(app);
  rinha::stack::add_stack_command(app);
  CLI11_PARSE(app, argc, argv);  // a command's non-zero status arrives as CLI::RuntimeError
  return 0;
}

}  // namespace

// Anything else a command throws ends it with its message and 1, not std::terminate.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rinhactl: %s\n", e.what());
    return 1;
  }
}
