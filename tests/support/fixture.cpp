// StackFixture: StackOptions for tests (this build's binaries, free ports) and start-or-throw.
#include "support/fixture.hpp"

#include <algorithm>
#include <stdexcept>

namespace rinha::testsupport {

stack::Locations test_locations() {
  stack::Locations loc;
  loc.rinhad = RINHAD_PATH;
  loc.rinhactl = RINHACTL_PATH;
  loc.source_dir = RINHA_SOURCE_DIR;
  return loc;
}

stack::StackOptions test_options(const Parts& parts) {
  stack::StackOptions o;
  o.loc = test_locations();
  o.postgres = parts.postgres;
  o.emulators = parts.emulators;
  o.worker = parts.worker;
  o.apis = parts.apis;
  o.haproxy = parts.haproxy;
  o.lb_port = 0;
  o.ready_timeout = std::chrono::seconds(30);
  // initdb once per machine and PostgreSQL build, a copy per case (local_stack_test still runs
  // initdb itself).
  std::string key = o.loc.pg_bin_dir;
  std::replace(key.begin(), key.end(), '/', '-');
  o.pg_template_dir = "/tmp/rinha-pg-template" + key;
  return o;
}

StackFixture::StackFixture(const Parts& parts) : StackFixture(test_options(parts)) {}

StackFixture::StackFixture(stack::StackOptions opts) : dir_("rinha-test-") {
  opts.run_dir = dir_.path();
  auto st = stack::Stack::up(opts);
  if (!st.is_ok()) {
    dir_.keep();  // the logs named in the message stay readable
    throw std::runtime_error("stack up failed: " + st.status().message());
  }
  stack_ = std::move(st).value();
}

}  // namespace rinha::testsupport
