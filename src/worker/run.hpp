// The worker role's entry point (called by cmd/rinhad).
#pragma once

#include "config/config.hpp"

namespace rinha::worker {

// Runs the worker until SIGINT/SIGTERM; returns the process exit code.
int run(const config::Config& cfg);

}  // namespace rinha::worker
