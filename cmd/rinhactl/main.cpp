// rinhactl: operator and measuring commands; each subcommand lives in its module.
#include <CLI/CLI.hpp>

#include "emulator/command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"rinhactl: operate and measure rinha"};
  app.require_subcommand(1);
  rinha::emulator::add_processor_command(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
