// Request parsing (pure) for the processor emulator: the POST /payments body and the small
// admin bodies. The amount is rounded half-even to cents from its JSON number text, as .NET's
// decimal.Round(amount, 2) does (spec §6.4). Every function fails with kInvalidArgument on
// malformed JSON, a missing field or a wrong type (the processor's 400).
// Thread-safe: a thread_local simdjson parser per calling thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/money.hpp"
#include "common/status.hpp"
#include "common/time.hpp"
#include "common/uuid.hpp"

namespace rinha::emulator {

struct PaymentRequest {
  Uuid correlation_id;
  Cents amount;
  UtcMicros requested_at;
};

Result<PaymentRequest> parse_payment(std::string_view body);
Result<int64_t> parse_int_field(std::string_view body, const char* field);
Result<bool> parse_bool_field(std::string_view body, const char* field);
Result<std::string> parse_string_field(std::string_view body, const char* field);

}  // namespace rinha::emulator
