// `rinhactl noop`: the do-nothing backend (server.hpp) in the foreground until SIGINT/SIGTERM.
#pragma once

#include <CLI/CLI.hpp>

namespace rinha::noop {

// Registers the subcommand; its callback serves; the command ends with 0 on a signal, 2 when
// it cannot start.
void add_noop_command(CLI::App& app);

}  // namespace rinha::noop
