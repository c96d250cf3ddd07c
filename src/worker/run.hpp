// The worker role of rinhad: takes payments from the apis over the hand-off socket, forwards
// each to a payment processor exactly once, keeps the ledger (memory + PostgreSQL) and answers
// summaries and purges.
#pragma once

#include "config/config.hpp"

namespace rinha::worker {

// Blocks until SIGTERM or SIGINT. Returns the process exit code: 0 after a clean stop, 1 when
// the role could not start (hand-off address not bindable, ...).
// Must be called before any other thread is started (it blocks SIGTERM/SIGINT for all threads).
int run(const config::Config& cfg);

}  // namespace rinha::worker
