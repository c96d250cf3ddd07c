// `rinhactl processor`: runs the processor emulator in the foreground until SIGINT/SIGTERM.
#pragma once

#include <CLI/CLI.hpp>

namespace rinha::emulator {

// Registers the subcommand; its callback runs the server; the command ends with 0 on a
// signal, 2 when it cannot start (CLI::RuntimeError carries the code to main).
void add_processor_command(CLI::App& app);

}  // namespace rinha::emulator
