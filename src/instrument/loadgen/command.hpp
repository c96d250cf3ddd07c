// CLI wiring of the measuring and operator commands of rinhactl: `load`, `summary`, `purge`,
// `health`. Each callback ends the command with its status: a non-zero one reaches main as
// CLI::RuntimeError (no exit() from inside a callback: destructors run, threads are joined).
#pragma once

#include <CLI/CLI.hpp>

namespace rinha::loadgen {

void add_load_command(CLI::App& app);
// summary, purge, health
void add_ops_commands(CLI::App& app);

}  // namespace rinha::loadgen
