// libFuzzer target: POST /payments body parser. Any input: no crash, no UB; an accepted body
// has a positive amount within bounds that survives a print/parse round trip.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/request_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = rinha::api::parse_payment(body);
  if (!r.is_ok()) return 0;
  if (r->amount.value <= 0 || r->amount.value > rinha::kMaxAmountCents) std::abort();
  std::string again = "{\"correlationId\":\"" + rinha::format_uuid(r->id) +
                      "\",\"amount\":" + rinha::format_cents(r->amount) + "}";
  auto r2 = rinha::api::parse_payment(again);
  if (!r2.is_ok() || !(r2->id == r->id) || !(r2->amount == r->amount)) std::abort();
  return 0;
}
