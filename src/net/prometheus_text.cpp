// Prometheus text format 0.0.4 writer (see prometheus_text.hpp). Does not escape label values:
// every label the daemon writes is a fixed ASCII word.
#include "net/prometheus_text.hpp"

#include <cstdio>

namespace rinha::net {

void PrometheusText::type(std::string_view name, std::string_view type) {
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PrometheusText::series(std::string_view name, std::string_view labels, std::string_view v) {
  out_.append(name);
  if (!labels.empty()) out_.append("{").append(labels).append("}");
  out_.append(" ").append(v).append("\n");
}

void PrometheusText::value(std::string_view name, std::string_view labels, int64_t v) {
  series(name, labels, std::to_string(v));
}

void PrometheusText::value(std::string_view name, std::string_view labels, uint64_t v) {
  series(name, labels, std::to_string(v));
}

void PrometheusText::seconds(std::string_view name, std::string_view labels, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  series(name, labels, buf);
}

void PrometheusText::counter(std::string_view name, int64_t v) {
  type(name, "counter");
  value(name, "", v);
}

void PrometheusText::gauge(std::string_view name, int64_t v) {
  type(name, "gauge");
  value(name, "", v);
}

std::string PrometheusText::take() {
  std::string body = std::move(out_);
  out_.clear();
  return body;
}

}  // namespace rinha::net
