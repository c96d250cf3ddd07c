// The payment processors' JSON bodies: the POST /payments request we send, and the answers of
// GET /payments/{id} and GET /payments/service-health we read. Pure (simdjson only).
// Amounts are read from the number's text, never through a double.
#pragma once

#include <string>
#include <string_view>

#include "common/money.hpp"
#include "common/status.hpp"
#include "common/time.hpp"
#include "common/uuid.hpp"

namespace rinha::processor {

struct PaymentRequest {
  Uuid id;
  Cents amount;
  UtcMillis requested_at;
};

// {"correlationId":"...","amount":19.90,"requestedAt":"2025-07-10T12:34:56.123Z"}
std::string payment_json(const PaymentRequest& p);

// What a processor stored for one payment (GET /payments/{id} -> 200).
struct StoredPayment {
  Uuid id;
  Cents amount;            // the processor rounds to 2 decimals half-even; so do we
  UtcMillis requested_at;  // fractions below 1 ms are truncated
};
Result<StoredPayment> parse_stored_payment(std::string_view body);

// GET /payments/service-health -> 200 {"failing":bool,"minResponseTime":int}
struct HealthReport {
  bool failing = false;
  int min_response_ms = 0;
};
Result<HealthReport> parse_health(std::string_view body);

}  // namespace rinha::processor
