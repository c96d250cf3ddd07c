// Summary bodies and requests (see summaries.hpp). simdjson's raw number tokens feed the exact
// Decimal parser, so 415696.65 stays 415696.65.
#include "instrument/loadgen/summaries.hpp"

#include <simdjson.h>

namespace rinha::loadgen {
namespace {

using simdjson::ondemand::object;

Status bad(const std::string& what) { return Status::invalid_argument(what); }

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Reads `key` of `obj` as an exact decimal.
Result<score::Decimal> decimal_field(object& obj, const char* key) {
  simdjson::ondemand::value v;
  if (obj.find_field_unordered(key).get(v)) return bad(std::string("missing ") + key);
  simdjson::ondemand::json_type t;
  if (v.type().get(t) || t != simdjson::ondemand::json_type::number)
    return bad(std::string(key) + " is not a number");
  return score::Decimal::parse(trim(v.raw_json_token()));
}

Result<int64_t> int_field(object& obj, const char* key) {
  int64_t n = 0;
  if (obj.find_field_unordered(key).get_int64().get(n))
    return bad(std::string("missing or non-integer ") + key);
  return n;
}

std::string window_query(std::optional<UtcMillis> from, std::optional<UtcMillis> to) {
  std::string q;
  if (from) q += "from=" + format_iso8601(*from);
  if (to) q += std::string(q.empty() ? "" : "&") + "to=" + format_iso8601(*to);
  return q.empty() ? q : "?" + q;
}

std::string status_problem(const Result<http::HttpResponse>& r) {
  if (!r.is_ok()) return r.status().message();
  if (r->status != 200) return "HTTP " + std::to_string(r->status);
  return {};
}

// The parser state of one body; `root` is valid unless `failed`.
struct Parsed {
  explicit Parsed(std::string_view body) : padded(body) {
    failed = parser.iterate(padded).get(doc) || doc.get_object().get(root);
  }
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded;
  simdjson::ondemand::document doc;
  object root;
  bool failed = true;
};

}  // namespace

Result<ProcessorSummary> parse_processor_summary(std::string_view body) {
  Parsed p(body);
  if (p.failed) return bad("malformed JSON");
  object& obj = p.root;
  auto amount = decimal_field(obj, "totalAmount");
  if (!amount.is_ok()) return amount.status();
  auto requests = int_field(obj, "totalRequests");
  if (!requests.is_ok()) return requests.status();
  auto fee = decimal_field(obj, "feePerTransaction");
  if (!fee.is_ok()) return fee.status();
  return ProcessorSummary{requests.value(), amount.value(), fee.value()};
}

Result<BackendSummary> parse_backend_summary(std::string_view body) {
  Parsed p(body);
  if (p.failed) return bad("malformed JSON");
  object& root = p.root;
  BackendSummary s;
  for (const char* which : {"default", "fallback"}) {
    object o;
    if (root.find_field_unordered(which).get_object().get(o))
      return bad(std::string("missing ") + which);
    auto requests = int_field(o, "totalRequests");
    if (!requests.is_ok()) return requests.status();
    auto amount = decimal_field(o, "totalAmount");
    if (!amount.is_ok()) return amount.status();
    if (which[0] == 'd') {
      s.default_requests = requests.value();
      s.default_amount = amount.value();
    } else {
      s.fallback_requests = requests.value();
      s.fallback_amount = amount.value();
    }
  }
  return s;
}

http::HttpRequest processor_summary_request(const std::string& base_url, const std::string& token,
                                            std::optional<UtcMillis> from,
                                            std::optional<UtcMillis> to) {
  http::HttpRequest r;
  r.url = base_url + "/admin/payments-summary" + window_query(from, to);
  r.headers.emplace_back("X-Rinha-Token", token);
  return r;
}

http::HttpRequest backend_summary_request(const std::string& base_url,
                                          std::optional<UtcMillis> from,
                                          std::optional<UtcMillis> to) {
  http::HttpRequest r;
  r.url = base_url + "/payments-summary" + window_query(from, to);
  return r;
}

ProcessorSummary processor_summary_or_zero(const Result<http::HttpResponse>& r,
                                           std::string* problem) {
  *problem = status_problem(r);
  if (!problem->empty()) return {};
  auto s = parse_processor_summary(r->body);
  if (!s.is_ok()) {
    *problem = s.status().message();
    return {};
  }
  return s.value();
}

BackendSummary backend_summary_or_zero(const Result<http::HttpResponse>& r, std::string* problem) {
  *problem = status_problem(r);
  if (!problem->empty()) return {};
  auto s = parse_backend_summary(r->body);
  if (!s.is_ok()) {
    *problem = s.status().message();
    return {};
  }
  return s.value();
}

}  // namespace rinha::loadgen
