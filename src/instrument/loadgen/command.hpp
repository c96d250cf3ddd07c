// CLI wiring of the measuring and operator commands of rinhactl: `load`, `summary`, `purge`,
// `health`. Each callback exits the process with the command's status.
#pragma once

#include <CLI/CLI.hpp>

namespace rinha::loadgen {

void add_load_command(CLI::App& app);
// summary, purge, health
void add_ops_commands(CLI::App& app);

}  // namespace rinha::loadgen
