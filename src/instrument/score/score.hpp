// Score (pure): the contest's judged number, computed exactly as the official k6 scripts do
// (spec §4): gross and fees from the summaries' totals x feePerTransaction, bonus from p99, the
// flat 35 % fine on any inconsistency, and the output as final-results.json and a human table.
// Money is exact decimal (Decimal); only the p99 bonus repeats the script's double arithmetic
// (`new Big((11 - p99) * 0.02).round(2)`) so that ties round as they do in the contest.
// Thread-safe: pure functions over values.
#pragma once

#include <cstdint>
#include <string>

#include "instrument/score/decimal.hpp"

namespace rinha::score {

// Request counts of one consistency check (the window is the caller's business).
struct CheckCounts {
  int64_t backend_default = 0;
  int64_t backend_fallback = 0;
  int64_t processor_default = 0;
  int64_t processor_fallback = 0;
};

// |(bD - pD) + (bF - pF)|: what rinha.js / rinha-final.js add up (differences can cancel).
int64_t official_inconsistencies(const CheckCounts& c);
// |bD - pD| + |bF - pF|: the corrected count of the community re-run (spec §4.3).
int64_t corrected_inconsistencies(const CheckCounts& c);

struct PaymentTotals {
  int64_t requests = 0;
  Decimal amount;    // sum of amounts, exact
  Decimal fee_rate;  // the processor's feePerTransaction (0.07 = 7 %), parsed from its text
};

struct ScoreInput {
  PaymentTotals default_totals;   // amounts that count for money (processors' in the final,
  PaymentTotals fallback_totals;  // the backend's in the preview script)
  double p99_ms = 0;              // k6 p(99) of successful request durations, unrounded
  int64_t inconsistencies = 0;    // summed over all checks, by whichever rule was chosen
  int64_t post_successes = 0;     // POST /payments answered 200/201/202/204
  int64_t post_failures = 0;
  std::string participant = "anonymous";
  std::string max_requests = "603";  // echoed as text, as the runner passes it via the env
  std::string timestamp;             // ISO-8601; omitted from the JSON when empty
};

struct ScoreResult {
  Decimal gross;
  Decimal default_fee;
  Decimal fallback_fee;
  Decimal fees;
  Decimal liquid_partial;  // L = gross - fees
  Decimal p99;             // ms, rounded half-up to 2 decimals
  Decimal bonus;           // fraction, 2 decimals (0.17 = 17 %)
  Decimal fine;            // 0 or 0.35
  Decimal fine_total;      // L x fine
  Decimal score;           // L + L x bonus - L x fine ("total_liquido")
  int64_t counted = 0;     // default + fallback requests
  int64_t lag = 0;         // post_successes - counted
};

// p99 as the script rounds it: shortest double text, Big.js round(2) half-up.
Decimal round_p99(double p99_ms);
// max(round2((11 - p99) x 0.02), 0) with the product in IEEE double as in the script.
Decimal p99_bonus(const Decimal& p99_rounded);

ScoreResult compute_score(const ScoreInput& in);

// final-results.json with the official keys and texts (spec §5.6), pretty-printed like
// JSON.stringify(x, null, 2).
std::string final_results_json(const ScoreInput& in, const ScoreResult& r);

// A readable multi-line table headed by `title`.
std::string score_table(const std::string& title, const ScoreInput& in, const ScoreResult& r);

}  // namespace rinha::score
