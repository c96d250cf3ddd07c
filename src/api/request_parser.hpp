// Request parsing for the api (no I/O): the POST /payments body and the summary query.
// Error messages are meant for the client and end up in {"error": "..."} bodies.
//
// Accepted POST /payments body: a JSON object with
//   correlationId: string, a UUID (8-4-4-4-12 hex, any case);
//   amount: JSON number > 0, at most 2 decimal places once trailing zeros are dropped
//           (19.9, 19.90, 19.900 and 1990e-2 are 19.90; 19.901 is rejected, never rounded),
//           at most 1,000,000,000.00.
// Other members are ignored; a member given twice, or trailing bytes after the object, is an
// error. Threading: parse_payment uses a thread_local parser, safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/money.hpp"
#include "common/status.hpp"
#include "common/uuid.hpp"
#include "summary/summary.hpp"

namespace rinha::api {

struct PaymentRequest {
  Uuid id;
  Cents amount;
};

// Fails with kMalformed when the body is not one JSON object (HTTP 400), kInvalidArgument when
// a member is missing, repeated or breaks its rule (HTTP 422).
Result<PaymentRequest> parse_payment(std::string_view body);

// from/to as received (raw query values, possibly percent-encoded); either may be absent.
Result<summary::Window> parse_summary_query(const std::optional<std::string>& from,
                                            const std::optional<std::string>& to);

// {"error":"<message>"} with the message JSON-escaped.
std::string error_json(std::string_view message);

}  // namespace rinha::api
