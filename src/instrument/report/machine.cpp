// /proc and Prometheus text parsers, and read_machine() (see machine.hpp). Reads no config.
#include "instrument/report/machine.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace rinha::report {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Calls f(line) for each line of text.
template <typename F>
void for_each_line(std::string_view text, F f) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    f(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

std::optional<double> to_number(std::string_view s) {
  s = trim(s);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::vector<double> parse_loadavg(std::string_view text) {
  std::vector<double> out;
  for (int i = 0; i < 3; ++i) {
    text = trim(text);
    size_t sp = text.find(' ');
    auto v = to_number(text.substr(0, sp));
    if (!v) return {};
    out.push_back(*v);
    if (sp == std::string_view::npos) break;
    text.remove_prefix(sp + 1);
  }
  return out.size() == 3 ? out : std::vector<double>{};
}

std::optional<CpuTimes> parse_cpu_times(std::string_view proc_stat) {
  std::optional<CpuTimes> out;
  for_each_line(proc_stat, [&](std::string_view line) {
    if (out || line.rfind("cpu ", 0) != 0) return;
    std::istringstream in{std::string(line.substr(4))};
    int64_t v = 0;
    CpuTimes t;
    for (int i = 0; in >> v; ++i) {
      if (i >= 8) break;  // guest times are already part of user/nice
      t.total += v;
      if (i != 3 && i != 4) t.busy += v;  // 3 idle, 4 iowait
    }
    if (t.total > 0) out = t;
  });
  return out;
}

std::optional<double> busy_pct(const CpuTimes& before, const CpuTimes& after) {
  int64_t total = after.total - before.total;
  if (total <= 0) return std::nullopt;
  return 100.0 * static_cast<double>(after.busy - before.busy) / static_cast<double>(total);
}

WorkerGauges parse_worker_gauges(std::string_view text) {
  WorkerGauges g;
  for_each_line(text, [&](std::string_view line) {
    if (line.empty() || line.front() == '#') return;
    size_t sp = line.rfind(' ');
    if (sp == std::string_view::npos) return;
    auto v = to_number(line.substr(sp + 1));
    if (!v) return;
    std::string_view name = trim(line.substr(0, sp));
    auto n = static_cast<int64_t>(*v);
    if (name == "rinha_worker_backlog") g.backlog = n;
    if (name == "rinha_worker_in_flight{processor=\"default\"}") g.in_flight_default = n;
    if (name == "rinha_worker_in_flight{processor=\"fallback\"}") g.in_flight_fallback = n;
  });
  return g;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return in ? s.str() : std::string();
}

MachineRecord read_machine() {
  MachineRecord m;
  m.cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  for_each_line(read_text_file("/proc/cpuinfo"), [&](std::string_view line) {
    if (!m.cpu_model.empty() || line.rfind("model name", 0) != 0) return;
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) m.cpu_model = std::string(trim(line.substr(colon + 1)));
  });
  for_each_line(read_text_file("/proc/meminfo"), [&](std::string_view line) {
    if (line.rfind("MemTotal:", 0) != 0) return;
    auto kib = to_number(trim(line.substr(9, line.find(" kB") - 9)));
    if (kib) m.mem_total_mib = static_cast<int64_t>(*kib / 1024);
  });
  utsname u{};
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  m.load_before = parse_loadavg(read_text_file("/proc/loadavg"));
  return m;
}

}  // namespace rinha::report
