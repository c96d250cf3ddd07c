// Window construction and the summary JSON body.
#include "summary/summary.hpp"

namespace rinha::summary {
namespace {

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

Window make_window(std::optional<UtcMicros> from, std::optional<UtcMicros> to) {
  if (!from || !to) return Window{};  // processors: a missing bound means every row
  Window w;
  w.from_ms = -floor_div(-from->value, 1000);  // ceil
  w.to_ms = floor_div(to->value, 1000);
  return w;
}

std::string to_json(const SummaryTotals& t) {
  auto part = [](const ProcessorTotals& p) {
    return "{\"totalRequests\":" + std::to_string(p.requests) +
           ",\"totalAmount\":" + format_cents(p.amount) + "}";
  };
  return "{\"default\":" + part(t.default_totals) + ",\"fallback\":" + part(t.fallback_totals) +
         "}";
}

}  // namespace rinha::summary
