// The timeline file format (see timeline.hpp): YAML read with yaml-cpp, every value checked and
// every error located by line and field. It does no I/O beyond reading the file it is given.
#include "instrument/loadgen/timeline.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <sstream>

namespace rinha::loadgen {
namespace {

constexpr int64_t kMaxSeconds = 86400;
constexpr int64_t kMaxDelayMs = 600000;
constexpr int64_t kMaxInsertMs = 60000;

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Status error(const YAML::Node& at, const std::string& field, const std::string& what) const {
    const int line = at.Mark().is_null() ? 0 : at.Mark().line + 1;
    return Status::invalid_argument(source_ + ":" + std::to_string(line) + ": " + field + ": " +
                                    what);
  }

  // A mapping whose keys are all among `allowed`.
  Status mapping(const YAML::Node& n, const std::string& field,
                 std::initializer_list<const char*> allowed) const {
    if (!n.IsMap()) return error(n, field, "expected a mapping");
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      bool known = false;
      for (const char* a : allowed) known = known || key == a;
      if (known) continue;
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return error(kv.first, join(field, key), "unknown key (expected one of: " + list + ")");
    }
    return Status::ok();
  }

  Result<int64_t> integer(const YAML::Node& n, const std::string& field, int64_t min,
                          int64_t max) const {
    const std::string want =
        "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    if (!n.IsScalar()) return error(n, field, want);
    const std::string& v = n.Scalar();
    int64_t out = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || p != v.data() + v.size() || out < min || out > max)
      return error(n, field, want + ", got '" + v + "'");
    return out;
  }

  // Seconds (decimals allowed) to whole milliseconds.
  Result<int64_t> seconds_ms(const YAML::Node& n, const std::string& field, double min) const {
    const std::string want = "expected seconds in [" + std::to_string(static_cast<int>(min)) +
                             ", " + std::to_string(kMaxSeconds) + "]";
    if (!n.IsScalar()) return error(n, field, want);
    const std::string& v = n.Scalar();
    char* end = nullptr;
    const double s = std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(s) || s < min ||
        s > static_cast<double>(kMaxSeconds))
      return error(n, field, want + ", got '" + v + "'");
    return static_cast<int64_t>(std::llround(s * 1000));
  }

  Result<bool> boolean(const YAML::Node& n, const std::string& field) const {
    if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false"))
      return n.Scalar() == "true";
    return error(
        n, field,
        "expected true or false" + (n.IsScalar() ? ", got '" + n.Scalar() + "'" : std::string()));
  }

  static std::string join(const std::string& a, const std::string& b) {
    return a.empty() ? b : a + "." + b;
  }

 private:
  std::string source_;
};

constexpr std::array<const char*, 2> kProcessors{"default", "fallback"};

// One processor's part of a stage, over the values it had before.
Status read_stage_processor(const Reader& rd, const YAML::Node& n, const std::string& field,
                            int64_t& delay_ms, bool& failure) {
  if (Status s = rd.mapping(n, field, {"delay_ms", "failure"}); !s.is_ok()) return s;
  if (n["delay_ms"]) {
    auto d = rd.integer(n["delay_ms"], field + ".delay_ms", 0, kMaxDelayMs);
    if (!d.is_ok()) return d.status();
    delay_ms = *d;
  }
  if (n["failure"]) {
    auto f = rd.boolean(n["failure"], field + ".failure");
    if (!f.is_ok()) return f.status();
    failure = *f;
  }
  return Status::ok();
}

Status read_stages(const Reader& rd, const YAML::Node& list, Timeline& t) {
  if (!list.IsSequence() || list.size() == 0)
    return rd.error(list, "stages", "expected a list of at least one stage");
  Stage prev;  // before the first stage: delay 0, not failing
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node& n = list[i];
    const std::string field = "stages[" + std::to_string(i) + "]";
    if (Status s = rd.mapping(n, field, {"at_s", "default", "fallback"}); !s.is_ok()) return s;
    if (!n["at_s"]) return rd.error(n, field + ".at_s", "missing (when the stage starts)");
    auto at = rd.seconds_ms(n["at_s"], field + ".at_s", 0);
    if (!at.is_ok()) return at.status();
    if (i > 0 && *at <= prev.at_ms)
      return rd.error(n["at_s"], field + ".at_s",
                      "must be after the previous stage's (" + std::to_string(prev.at_ms) + " ms)");
    Stage s = prev;
    s.at_ms = *at;
    if (n["default"]) {
      Status st = read_stage_processor(rd, n["default"], field + ".default", s.default_delay_ms,
                                       s.default_failure);
      if (!st.is_ok()) return st;
    }
    if (n["fallback"]) {
      Status st = read_stage_processor(rd, n["fallback"], field + ".fallback", s.fallback_delay_ms,
                                       s.fallback_failure);
      if (!st.is_ok()) return st;
    }
    if (t.duration_ms && s.at_ms >= *t.duration_ms)
      return rd.error(n["at_s"], field + ".at_s",
                      "must be before duration_s (" + std::to_string(*t.duration_ms) + " ms)");
    t.stages.push_back(s);
    prev = s;
  }
  return Status::ok();
}

Status read_insert(const Reader& rd, const YAML::Node& n, Timeline& t) {
  if (Status s = rd.mapping(n, "insert", {"default", "fallback"}); !s.is_ok()) return s;
  for (size_t i = 0; i < kProcessors.size(); ++i) {
    const YAML::Node& p = n[kProcessors[i]];
    if (!p) continue;
    const std::string field = std::string("insert.") + kProcessors[i];
    if (Status s = rd.mapping(p, field, {"latency_ms", "jitter_ms"}); !s.is_ok()) return s;
    InsertTime it;
    if (p["latency_ms"]) {
      auto v = rd.integer(p["latency_ms"], field + ".latency_ms", 0, kMaxInsertMs);
      if (!v.is_ok()) return v.status();
      it.latency_ms = *v;
    }
    if (p["jitter_ms"]) {
      auto v = rd.integer(p["jitter_ms"], field + ".jitter_ms", 0, kMaxInsertMs);
      if (!v.is_ok()) return v.status();
      it.jitter_ms = *v;
    }
    t.insert[i] = it;
  }
  return Status::ok();
}

}  // namespace

Result<Timeline> parse_timeline(const std::string& text, const std::string& source) {
  const Reader rd(source);
  YAML::Node loaded;
  try {
    loaded = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return Status::invalid_argument(source + ":" + std::to_string(e.mark.line + 1) +
                                    ": YAML syntax: " + e.msg);
  }
  const YAML::Node& root = loaded;  // const: looking a key up never adds it
  if (!root.IsMap()) return rd.error(root, "<top>", "expected a mapping with stages");
  if (Status s = rd.mapping(root, "", {"name", "duration_s", "insert", "stages"}); !s.is_ok())
    return s;
  Timeline t;
  if (root["name"]) {
    if (!root["name"].IsScalar() || root["name"].Scalar().empty())
      return rd.error(root["name"], "name", "expected a non-empty string");
    t.name = root["name"].Scalar();
  }
  if (root["duration_s"]) {
    auto d = rd.seconds_ms(root["duration_s"], "duration_s", 1);
    if (!d.is_ok()) return d.status();
    t.duration_ms = *d;
  }
  if (root["insert"]) {
    if (Status s = read_insert(rd, root["insert"], t); !s.is_ok()) return s;
  }
  if (!root["stages"]) return rd.error(root, "stages", "missing (at least one stage)");
  if (Status s = read_stages(rd, root["stages"], t); !s.is_ok()) return s;
  return t;
}

Result<Timeline> load_timeline_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::io_error("cannot read timeline file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_timeline(ss.str(), path);
}

Profile with_timeline(Profile p, const Timeline& t) {
  p.name += "+" + t.name;
  if (t.duration_ms) p.duration_ms = *t.duration_ms;
  p.stages = t.stages;
  return p;
}

}  // namespace rinha::loadgen
