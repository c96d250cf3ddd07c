// Summaries: fetching and reading the two summary endpoints a test run compares, the backend's
// GET /payments-summary and a processor's GET /admin/payments-summary, with amounts kept as
// exact decimals from their JSON number text. Shared by `rinhactl load` and `rinhactl summary`.
// Threading: free functions; each call makes its own connection(s).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.hpp"
#include "common/time.hpp"
#include "instrument/http/http_client.hpp"
#include "instrument/score/decimal.hpp"

namespace rinha::loadgen {

struct ProcessorSummary {
  int64_t requests = 0;
  score::Decimal amount;
  score::Decimal fee;  // feePerTransaction (totalFee is recomputed, never read)
};

struct BackendSummary {
  int64_t default_requests = 0;
  score::Decimal default_amount;
  int64_t fallback_requests = 0;
  score::Decimal fallback_amount;
};

// Parse the bodies; fail with kInvalidArgument on malformed JSON or missing fields.
Result<ProcessorSummary> parse_processor_summary(std::string_view body);
Result<BackendSummary> parse_backend_summary(std::string_view body);

// The request for a window; bounds are written as toISOString() does, and left out when empty.
http::HttpRequest processor_summary_request(const std::string& base_url, const std::string& token,
                                            std::optional<UtcMillis> from,
                                            std::optional<UtcMillis> to);
http::HttpRequest backend_summary_request(const std::string& base_url,
                                          std::optional<UtcMillis> from,
                                          std::optional<UtcMillis> to);

// What k6 does with an answer: the parsed body on 200, zeros on anything else (and a note in
// `problem`, empty when it was a clean 200).
ProcessorSummary processor_summary_or_zero(const Result<http::HttpResponse>& r,
                                           std::string* problem);
BackendSummary backend_summary_or_zero(const Result<http::HttpResponse>& r, std::string* problem);

}  // namespace rinha::loadgen
