// PrometheusText: builds a /metrics body in the Prometheus text exposition format 0.0.4, one
// "# TYPE" line per family and one "name{labels} value" line per series. The api's and the
// worker's /metrics both write through it, so the two bodies follow one grammar.
//
// Threading: a plain value, one thread at a time. Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rinha::net {

class PrometheusText {
 public:
  // "# TYPE name type"; type is counter, gauge, histogram or summary.
  void type(std::string_view name, std::string_view type);
  // One series; labels are written inside {} as given (`a="x",b="y"`), none when empty.
  void value(std::string_view name, std::string_view labels, int64_t v);
  void value(std::string_view name, std::string_view labels, uint64_t v);
  // A value in seconds with microsecond digits (histogram and summary sums).
  void seconds(std::string_view name, std::string_view labels, double v);
  // A family with a single unlabelled series.
  void counter(std::string_view name, int64_t v);
  void gauge(std::string_view name, int64_t v);

  // The body so far; the writer is empty afterwards.
  std::string take();

 private:
  void series(std::string_view name, std::string_view labels, std::string_view v);
  std::string out_;
};

}  // namespace rinha::net
