// JSON for the processor API (simdjson on-demand for reading; writing is plain concatenation
// since every field is ours and needs no escaping).
#include "processor/processor_format.hpp"

#include <simdjson.h>

namespace rinha::processor {

std::string payment_json(const PaymentRequest& p) {
  std::string s;
  s.reserve(128);
  s += "{\"correlationId\":\"";
  s += format_uuid(p.id);
  s += "\",\"amount\":";
  s += format_cents(p.amount);
  s += ",\"requestedAt\":\"";
  s += format_iso8601(p.requested_at);
  s += "\"}";
  return s;
}

namespace {

// Calls on_field(key, field) -> Status for each field of the JSON object in body, stopping at
// the first failure; `what` names the document in the messages of the structural failures.
template <typename F>
Status for_each_field(std::string_view body, const std::string& what, F&& on_field) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(body);
  simdjson::ondemand::document doc;
  if (parser.iterate(json).get(doc)) return Status::invalid_argument(what + ": not JSON");
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return Status::invalid_argument(what + ": not an object");
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return Status::invalid_argument(what + ": bad key");
    Status s = on_field(key, field);
    if (!s.is_ok()) return s;
  }
  return Status::ok();
}

}  // namespace

Result<StoredPayment> parse_stored_payment(std::string_view body) {
  StoredPayment out;
  bool have_id = false, have_amount = false, have_at = false;
  Status parsed = for_each_field(body, "payment", [&](std::string_view key, auto& field) -> Status {
    if (key == "correlationId") {
      std::string_view v;
      if (field.value().get_string().get(v))
        return Status::invalid_argument("payment: correlationId");
      auto id = parse_uuid(v);
      if (!id.is_ok()) return id.status();
      out.id = *id;
      have_id = true;
    } else if (key == "amount") {
      // Some serializers quote decimals; accept both.
      simdjson::ondemand::value v;
      if (field.value().get(v)) return Status::invalid_argument("payment: amount");
      std::string_view text;
      if (v.type() == simdjson::ondemand::json_type::string) {
        if (v.get_string().get(text)) return Status::invalid_argument("payment: amount");
      } else {
        text = v.raw_json_token();
        while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' ||
                                 text.back() == '\t'))
          text.remove_suffix(1);
      }
      auto c = parse_amount(text, Rounding::kHalfEven);
      if (!c.is_ok()) return c.status();
      out.amount = *c;
      have_amount = true;
    } else if (key == "requestedAt") {
      std::string_view v;
      if (field.value().get_string().get(v))
        return Status::invalid_argument("payment: requestedAt");
      auto t = parse_iso8601(v);
      if (!t.is_ok()) return t.status();
      int64_t us = t->value;
      out.requested_at = UtcMillis{us >= 0 ? us / 1000 : -((-us + 999) / 1000)};
      have_at = true;
    }
    return Status::ok();
  });
  if (!parsed.is_ok()) return parsed;
  if (!have_id || !have_amount || !have_at)
    return Status::invalid_argument("payment: missing correlationId, amount or requestedAt");
  return out;
}

Result<HealthReport> parse_health(std::string_view body) {
  HealthReport out;
  bool have_failing = false, have_min = false;
  Status parsed = for_each_field(body, "health", [&](std::string_view key, auto& field) -> Status {
    if (key == "failing") {
      bool b;
      if (field.value().get_bool().get(b)) return Status::invalid_argument("health: failing");
      out.failing = b;
      have_failing = true;
    } else if (key == "minResponseTime") {
      int64_t n;
      if (field.value().get_int64().get(n) || n < 0)
        return Status::invalid_argument("health: minResponseTime");
      out.min_response_ms = static_cast<int>(std::min<int64_t>(n, 1'000'000));
      have_min = true;
    }
    return Status::ok();
  });
  if (!parsed.is_ok()) return parsed;
  if (!have_failing || !have_min) return Status::invalid_argument("health: missing fields");
  return out;
}

}  // namespace rinha::processor
