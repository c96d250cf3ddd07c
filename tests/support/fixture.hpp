// Test fixtures: a temp dir plus any subset of the stack on free loopback ports, using the
// binaries of this build (RINHAD_PATH, RINHACTL_PATH) and the config files of this source tree
// (RINHA_SOURCE_DIR). Everything stops (reverse order) and the temp dir goes when the fixture
// is destroyed; set RINHA_KEEP_TMP=1 to keep the logs of a failed run.
//
// Threading: one owner (a test case). Start failures throw std::runtime_error naming the part
// that failed with its log tail; Catch2 reports the message.
#pragma once

#include <string>

#include "instrument/stack/stack.hpp"
#include "instrument/stack/temp_dir.hpp"

namespace rinha::testsupport {

// Which parts to start; HAProxy without apis needs StackOptions::api1_address/api2_address.
struct Parts {
  bool postgres = false;
  bool emulators = false;
  bool worker = false;
  bool apis = false;
  bool haproxy = false;

  static Parts postgres_only() { return {true, false, false, false, false}; }
  static Parts emulators_only() { return {false, true, false, false, false}; }
  static Parts haproxy_only() { return {false, false, false, false, true}; }
  static Parts whole() { return {true, true, true, true, true}; }
};

// Binaries of this build and files of this source tree.
stack::Locations test_locations();
// Options for parts, every port free, fees "preview", 30 s per step; run_dir is left for the
// fixture to fill with its temp dir.
stack::StackOptions test_options(const Parts& parts);

class StackFixture {
 public:
  explicit StackFixture(const Parts& parts);
  // Full control: opts.run_dir is set to the fixture's temp dir.
  explicit StackFixture(stack::StackOptions opts);

  stack::Stack& stack() { return stack_; }
  const stack::TempDir& dir() const { return dir_; }

 private:
  stack::TempDir dir_;  // declared first: destroyed after the stack that logs into it
  stack::Stack stack_;
};

}  // namespace rinha::testsupport
