// `rinhactl processor`: runs the processor emulator in the foreground until SIGINT/SIGTERM.
#pragma once

#include <CLI/CLI.hpp>

namespace rinha::emulator {

// Registers the subcommand; its callback runs the server and exits the process with 0 on a
// signal, 2 when it cannot start.
void add_processor_command(CLI::App& app);

}  // namespace rinha::emulator
