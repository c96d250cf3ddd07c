// Stage: one `stage_NN` scenario of a load profile, the processor settings applied at at_ms
// after the scenario start. The load profiles (loadgen/profile.hpp) are made of it and the run
// record (run_record.hpp) keeps it as applied; it lives here because report sits below loadgen.
//
// Threading: a plain value.
#pragma once

#include <cstdint>

namespace rinha::report {

struct Stage {
  int64_t at_ms = 0;
  int64_t default_delay_ms = 0;
  bool default_failure = false;
  int64_t fallback_delay_ms = 0;
  bool fallback_failure = false;
};

}  // namespace rinha::report
