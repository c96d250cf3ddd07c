// TerminationSignals: SIGINT and SIGTERM delivered synchronously to whoever waits for them.
// Construct it in main's thread before any other thread starts: every thread inherits the
// blocked mask, so no handler runs at an arbitrary point and only wait()/wait_for() receive
// them. SIGPIPE is ignored as well (a peer that goes away is an error return, not a kill).
//
// Threading: construct once, before threads; wait()/wait_for() from one thread at a time.
#pragma once

#include <signal.h>

#include <chrono>
#include <optional>

namespace rinha::net {

class TerminationSignals {
 public:
  TerminationSignals();
  TerminationSignals(const TerminationSignals&) = delete;
  TerminationSignals& operator=(const TerminationSignals&) = delete;

  // Blocks until SIGINT or SIGTERM arrives; returns its number.
  int wait() const;
  // The signal if one arrives within `timeout`, nullopt otherwise (lets a watcher stop).
  std::optional<int> wait_for(std::chrono::milliseconds timeout) const;

 private:
  sigset_t set_;
};

}  // namespace rinha::net
