// simdjson ondemand parsing of emulator request bodies (see request_parse.hpp).
#include "instrument/emulator/request_parse.hpp"

#include <simdjson.h>

namespace rinha::emulator {
namespace {

simdjson::ondemand::parser& parser() {
  thread_local simdjson::ondemand::parser p;
  return p;
}

Status bad(const char* what) { return Status::invalid_argument(what); }

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

Result<PaymentRequest> parse_payment(std::string_view body) {
  simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  if (parser().iterate(padded).get(doc)) return bad("malformed JSON");
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return bad("body must be a JSON object");
  std::string_view id_text, amount_text, at_text;
  if (obj.find_field_unordered("correlationId").get_string().get(id_text))
    return bad("correlationId is required");
  simdjson::ondemand::value amount;
  if (obj.find_field_unordered("amount").get(amount)) return bad("amount is required");
  simdjson::ondemand::json_type type;
  if (amount.type().get(type) || type != simdjson::ondemand::json_type::number)
    return bad("amount must be a number");
  amount_text = trim(amount.raw_json_token());
  if (obj.find_field_unordered("requestedAt").get_string().get(at_text))
    return bad("requestedAt is required");
  auto id = parse_uuid(id_text);
  if (!id.is_ok()) return id.status();
  auto cents = parse_amount(amount_text, Rounding::kHalfEven);
  if (!cents.is_ok()) return cents.status();
  auto at = parse_iso8601(at_text);
  if (!at.is_ok()) return at.status();
  return PaymentRequest{id.value(), cents.value(), at.value()};
}

Result<int64_t> parse_int_field(std::string_view body, const char* field) {
  simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  int64_t v = 0;
  if (parser().iterate(padded).get(doc) || doc.find_field_unordered(field).get_int64().get(v))
    return bad("expected an integer field");
  return v;
}

Result<bool> parse_bool_field(std::string_view body, const char* field) {
  simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  bool v = false;
  if (parser().iterate(padded).get(doc) || doc.find_field_unordered(field).get_bool().get(v))
    return bad("expected a boolean field");
  return v;
}

Result<std::string> parse_string_field(std::string_view body, const char* field) {
  simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  std::string_view v;
  if (parser().iterate(padded).get(doc) || doc.find_field_unordered(field).get_string().get(v))
    return bad("expected a string field");
  return std::string(v);
}

}  // namespace rinha::emulator
