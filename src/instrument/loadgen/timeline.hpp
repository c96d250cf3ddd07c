// Custom timelines for `rinhactl load --timeline FILE` (pure: text in, data out): stage times,
// per-processor delay and failure, and optionally our emulator's insert latency and jitter,
// besides the two official timelines. The format (YAML):
//
//   name: large-steps        # optional; shown in the output and the report (default: "custom")
//   duration_s: 120          # optional; default the --profile's duration (--duration scales it)
//   insert:                  # optional; our emulator only (PUT /admin/configurations/insert),
//     default:  {latency_ms: 0, jitter_ms: 200}   # set at setup, restored at the end
//     fallback: {latency_ms: 0, jitter_ms: 200}
//   stages:                  # at least one; at_s ascending, each before duration_s
//     - at_s: 1
//       default:  {delay_ms: 0, failure: false}
//       fallback: {delay_ms: 0}
//     - at_s: 20
//       default: {delay_ms: 5000}   # a field not given keeps the previous stage's value
//
// A stage sets both processors' delay and failure, as the official stage_NN scenarios do;
// before the first stage both start at delay 0, not failing. Errors name the line and field.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "instrument/loadgen/profile.hpp"

namespace rinha::loadgen {

struct InsertTime {
  int64_t latency_ms = 0;
  int64_t jitter_ms = 0;
};

struct Timeline {
  std::string name = "custom";
  std::optional<int64_t> duration_ms;
  std::vector<Stage> stages;                        // every field resolved
  std::array<std::optional<InsertTime>, 2> insert;  // [0] default, [1] fallback
};

// Fails (kInvalidArgument) with "<source>:<line>: <field>: <what is wrong>" on a YAML syntax
// error, an unknown key, a value of the wrong type or out of range, stages out of order or past
// duration_s, or no stage at all. `source` names the text in messages (the file path).
Result<Timeline> parse_timeline(const std::string& text, const std::string& source = "timeline");
Result<Timeline> load_timeline_file(const std::string& path);

// The profile with the timeline's stages (and duration when it gives one): VUs, amount and
// check cadence stay the profile's. Its name becomes "<profile>+<timeline name>".
Profile with_timeline(Profile p, const Timeline& t);

}  // namespace rinha::loadgen
