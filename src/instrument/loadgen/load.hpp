// `rinhactl load`: one run of the official test shape against a backend and two processors
// (spec §5): setup, the payments ramp, the consistency checker, the processor timeline,
// teardown, then the score under the official accounting and the corrected whole-run one.
// With --json, final-results.json also carries the run record (per-second series, checks,
// configuration, machine) that --report draws and `rinhactl report` overlays.
// Threading: run_load() blocks; it starts and joins its own threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace rinha::loadgen {

struct LoadOptions {
  std::string target = "http://127.0.0.1:9999";
  std::string default_url = "http://127.0.0.1:8001";
  std::string fallback_url = "http://127.0.0.1:8002";
  std::string token = "123";              // current processor token
  std::string profile = "preview";        // preview | final | soak
  std::optional<int> vus;                 // MAX_REQUESTS override
  std::optional<double> duration_s;       // stretches or shrinks the timeline proportionally
  std::optional<std::string> amount;      // payment amount as decimal text
  std::optional<double> window_s;         // teardown window (official: 70 s)
  std::optional<int64_t> check_every_ms;  // pause after each consistency check (official: 10 s)
  std::string json_out;                   // final-results.json path; empty: none
  bool timeline = true;                   // apply the processor stages
  std::string timeline_path;  // a custom timeline file (timeline.hpp) instead of the profile's
  bool rotate_token = false;  // setup sets a fresh token, teardown restores --token
  std::string participant = "rinha";
  bool realtime = false;   // SCHED_FIFO for the payments thread
  std::string trace_path;  // per-POST timing lines, for diagnosing latency
  std::string report_out;  // the HTML run report (src/instrument/report); empty: none
  // A `rinhactl stack` run dir: its stack.env names the worker's /metrics and its
  // config-<role>.yaml files the configuration that ran; both go into the run record.
  std::string stack_dir;
  std::string worker_metrics_url;  // scraped each second for the record; overrides stack_dir's
  std::string label;               // the run's name in reports; default: participant
};

// Exit status: 0 when the run completed (inconsistencies included), 1 when setup failed or
// nothing could be measured, 2 on bad options.
int run_load(const LoadOptions& opts);

}  // namespace rinha::loadgen
