// Load profiles (pure): the two official k6 test shapes (spec §5.3-5.5) as data, the ramp of
// the `payments` scenario, the timeline scaled to a shorter or longer run, and k6's percentile.
// Thread-safe: values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "instrument/report/stage.hpp"

namespace rinha::loadgen {

// One `stage_NN` scenario: processor settings applied at `at_ms` after the scenario start.
using Stage = report::Stage;

struct Profile {
  std::string name;               // "preview" (rinha.js), "final" (rinha-final.js) or "soak"
  int vus = 0;                    // MAX_REQUESTS
  bool ramp = true;               // VUs ramp from 1 (official); false: all start at once
  int64_t duration_ms = 0;        // payments and payments_consistency scenarios
  std::string amount;             // the fixed amount, as JSON number text
  int64_t check_from_ms = 15000;  // consistency window: [now - from, now - to]
  int64_t check_to_ms = 2000;
  int64_t check_sleep_ms = 10000;
  int64_t teardown_window_ms = 70000;
  bool money_from_backend = false;  // rinha.js scores the backend's amounts and counts
  std::vector<Stage> stages;
};

// "preview", "final" or "soak"; nullopt for any other name. soak is ours (not the contest's):
// a constant rate for longevity runs, 600 VUs from the first second (~600 payments/s), the
// processors' delays set once, 60 minutes unless --duration says otherwise.
std::optional<Profile> make_profile(const std::string& name);

// Scales the stage times by duration_ms / p.duration_ms and sets the new duration; the check
// cadence and windows stay as they are (they are fixed in the scripts).
Profile with_duration(Profile p, int64_t duration_ms);

// ramping-vus from 1 to `vus` over `duration_ms`: the VU count becomes v (v >= 2) at
// duration x (v - 1) / (vus - 1), as k6's execution steps do. Returns that start time of the
// VU with 0-based index i.
int64_t vu_start_ms(int i, int vus, int64_t duration_ms);

// k6's percentile: linear interpolation at index p x (n - 1) of the sorted samples. 0 when empty.
double percentile(const std::vector<double>& sorted, double p);

}  // namespace rinha::loadgen
