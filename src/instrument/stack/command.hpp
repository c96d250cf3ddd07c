// `rinhactl stack up|down|status`: the local deployment as detached processes under a run dir.
#pragma once

#include <CLI/CLI.hpp>

namespace rinha::stack {

// Registers the `stack` subcommand (and its up/down/status subcommands) on app. Failures end
// the command with a message on stderr and a non-zero exit code (CLI::RuntimeError).
void add_stack_command(CLI::App& app);

}  // namespace rinha::stack
