// RunRecord (pure): everything one `rinhactl load` run leaves for its report: the profile and
// its stage timeline, both score accountings with their ceilings, the per-second series, every
// consistency check, the effective rinhad configurations and the machine. It is serialised as
// the "rinha_run" object appended to final-results.json (the official keys stay first and
// unchanged), so that `rinhactl report a.json b.json` can overlay runs from their JSON files.
// Money stays exact: decimals are JSON strings as Decimal prints them; only display ratios are
// doubles.
// Thread-safe: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "instrument/report/stage.hpp"
#include "instrument/score/score.hpp"

namespace rinha::report {

inline constexpr const char* kSchema = "rinha-run/1";
inline constexpr const char* kRecordKey = "rinha_run";

struct ProfileRecord {
  std::string name;
  int vus = 0;
  int64_t duration_ms = 0;
  std::string amount;  // decimal text
  int64_t teardown_window_ms = 0;
  int64_t check_every_ms = 0;  // pause after each consistency check
  bool money_from_backend = false;
  std::vector<Stage> stages;  // those applied before the run ended
};

// One accounting (official window, or whole run) with its theoretical maximum: every POST sent
// in its window paid through the cheaper processor (L ceiling), times the bonus cap 1.22
// (p99 = 0 ms), no fine.
struct Accounting {
  std::string name;   // "official" | "whole_run"
  std::string title;  // what it sums and how it counts inconsistencies
  score::ScoreInput in;
  score::ScoreResult result;
  int64_t ceiling_requests = 0;  // POSTs sent inside the accounting's window
  score::Decimal amount;         // one payment
};

// Per second k of the run (k = 0 is the first second after the payments' start). Vectors have
// the same length; nullopt = not measured that second (serialised as null).
struct Series {
  std::vector<int64_t> sent, ok, failed, timeouts;        // POSTs by the second they were sent
  std::vector<std::optional<double>> p50, p90, p99, max;  // POST latency (ms) of those answered 2xx
  std::vector<int64_t> default_payments, fallback_payments;  // processors' rows by requestedAt
  std::vector<std::optional<int64_t>> backlog, in_flight_default, in_flight_fallback;  // worker
  std::vector<std::optional<double>> load1, cpu_busy_pct;  // the machine
  void resize(size_t n);
};

struct CheckRecord {
  double t_s = 0;        // seconds after the start
  std::string from, to;  // the window, ISO-8601
  score::CheckCounts counts;
  int64_t official = 0;   // |sum of differences|
  int64_t corrected = 0;  // sum of |differences|
  std::string problem;    // a non-200 answer or transport error, "" when clean
  // How long the backend's summary took (it is one of the requests p99 scores); nullopt when
  // it did not answer.
  std::optional<int64_t> backend_us;
};

struct MachineRecord {
  int cores = 0;
  std::string cpu_model;
  int64_t mem_total_mib = 0;
  std::string kernel;
  std::vector<double> load_before, load_after;  // 1, 5, 15 min
};

struct RunRecord {
  std::string label;  // participant name, or --label
  std::string started_at, finished_at;
  std::string target, default_url, fallback_url;
  ProfileRecord profile;
  std::vector<Accounting> accountings;  // official first
  int64_t sent = 0, ok = 0, failed = 0, timeouts = 0;
  // Every successful request of the run (POSTs, summaries, admin calls: what p99 scores).
  int64_t latency_samples = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  Series series;
  std::vector<CheckRecord> checks;
  std::string worker_metrics_url;  // "" when none was given
  int64_t worker_scrapes_ok = 0;
  std::vector<std::pair<std::string, std::string>> configs;  // role -> --print-config text
  MachineRecord machine;
  std::vector<std::string> notes;  // what could not be measured, and why
};

// The "rinha_run" object, compact JSON.
std::string record_json(const RunRecord& r);

// The official final-results.json text with `"rinha_run": <record_json>` appended as its last
// key. Fails when official_json is not a JSON object text.
Result<std::string> embed_record(const std::string& official_json, const std::string& record);

}  // namespace rinha::report
