// POST /payments body and summary query parsing (simdjson on-demand; amounts from raw text).
#include "api/request_parser.hpp"

#include <simdjson.h>

namespace rinha::api {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  return s;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// '+' stays '+': toISOString() values are sent unencoded and "+00:00" offsets must survive.
std::optional<std::string> percent_decode(const std::string& s) {
  if (s.find('%') == std::string::npos) return s;
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

Result<std::optional<UtcMicros>> parse_bound(const char* name,
                                             const std::optional<std::string>& raw) {
  if (!raw) return std::optional<UtcMicros>{};
  auto decoded = percent_decode(*raw);
  if (!decoded) return Status::invalid_argument(std::string(name) + ": bad percent-encoding");
  auto t = parse_iso8601(*decoded);
  if (!t.is_ok()) return Status::invalid_argument(std::string(name) + ": " + t.status().message());
  return std::optional<UtcMicros>{*t};
}

}  // namespace

Result<PaymentRequest> parse_payment(std::string_view body) {
  using namespace simdjson;
  thread_local ondemand::parser parser;
  padded_string padded(body);
  ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return Status::malformed("body is not valid JSON");
  ondemand::object obj;
  if (doc.get_object().get(obj)) return Status::malformed("body must be one JSON object");
  bool have_id = false, have_amount = false;
  PaymentRequest out;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return Status::malformed("body is not valid JSON");
    ondemand::value value;
    if (field.value().get(value)) return Status::malformed("body is not valid JSON");
    if (key == "correlationId") {
      if (have_id) return Status::invalid_argument("correlationId given twice");
      have_id = true;
      ondemand::json_type type;
      if (value.type().get(type)) return Status::malformed("body is not valid JSON");
      std::string_view s;
      if (type != ondemand::json_type::string || value.get_string().get(s))
        return Status::invalid_argument("correlationId must be a string");
      auto id = parse_uuid(s);
      if (!id.is_ok()) return id.status();
      out.id = *id;
    } else if (key == "amount") {
      if (have_amount) return Status::invalid_argument("amount given twice");
      have_amount = true;
      ondemand::json_type type;
      if (value.type().get(type)) return Status::malformed("body is not valid JSON");
      if (type != ondemand::json_type::number)
        return Status::invalid_argument("amount must be a number");
      auto cents = parse_amount(trim(value.raw_json_token()), Rounding::kRejectExtraDecimals);
      if (!cents.is_ok()) return cents.status();
      out.amount = *cents;
    }
    // Other members are skipped unread (on-demand parsing checks their brackets, not their
    // grammar).
  }
  if (!doc.current_location().error())
    return Status::malformed("body must be one JSON object: unexpected bytes after it");
  if (!have_id) return Status::invalid_argument("correlationId is required");
  if (!have_amount) return Status::invalid_argument("amount is required");
  return out;
}

Result<summary::Window> parse_summary_query(const std::optional<std::string>& from,
                                            const std::optional<std::string>& to) {
  auto f = parse_bound("from", from);
  if (!f.is_ok()) return f.status();
  auto t = parse_bound("to", to);
  if (!t.is_ok()) return t.status();
  return summary::make_window(*f, *t);
}

std::string error_json(std::string_view message) {
  std::string out = "{\"error\":\"";
  for (char c : message) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"}";
}

}  // namespace rinha::api
