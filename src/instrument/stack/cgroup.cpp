// Compose limits -> cgroups for the local stack, and the usage table. Reads the compose file
// given; writes only under the calling process's own cgroup.
#include "instrument/stack/cgroup.hpp"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "common/errno_text.hpp"

namespace rinha::stack {
namespace fs = std::filesystem;
namespace {

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A file holding one integer, or "max" (-> 0 = no limit); nullopt if unreadable.
std::optional<int64_t> read_int(const std::string& path) {
  auto t = read_text(path);
  if (!t) return std::nullopt;
  if (t->rfind("max", 0) == 0) return 0;
  return std::strtoll(t->c_str(), nullptr, 10);
}

// "key value" lines (cpu.stat, memory.events, memory.oom_control): the value of key, or 0.
int64_t keyed(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string k;
  int64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

Status write_file(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.flush();
  if (!out) return Status::io_error("cannot write '" + value + "' to " + path);
  return Status::ok();
}

// Where the hierarchies are: v2 when it is unified with cpu and memory available, else v1's
// cpu and memory mounts.
struct Hierarchies {
  std::string v2;  // mount point of the unified hierarchy, "" if not used
  std::string cpu, memory;
};

Hierarchies find_hierarchies() {
  Hierarchies h;
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, dir, type, opts, rest;
  std::string v2_mount;
  while (mounts >> dev >> dir >> type >> opts && std::getline(mounts, rest)) {
    if (type == "cgroup2") v2_mount = dir;
    if (type != "cgroup") continue;
    std::stringstream o(opts);
    std::string opt;
    while (std::getline(o, opt, ',')) {
      if (opt == "cpu") h.cpu = dir;
      if (opt == "memory") h.memory = dir;
    }
  }
  if (!v2_mount.empty()) {
    auto ctl = read_text(v2_mount + "/cgroup.controllers").value_or("");
    if (ctl.find("cpu") != std::string::npos && ctl.find("memory") != std::string::npos) {
      h.v2 = v2_mount;
      h.cpu.clear();
      h.memory.clear();
    }
  }
  return h;
}

std::optional<std::string> cgroup_line_path(pid_t pid, const std::string& controller) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctls = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (controller.empty()) {
      if (line.compare(0, 3, "0::") == 0) return path;
      continue;
    }
    std::stringstream c(ctls);
    std::string one;
    while (std::getline(c, one, ','))
      if (one == controller) return path;
  }
  return std::nullopt;
}

// The cgroup path of pid in the hierarchy holding controller ("" = the v2 line); the root is
// "" so that paths join without a double slash.
std::optional<std::string> own_path(pid_t pid, const std::string& controller) {
  auto p = cgroup_line_path(pid, controller);
  if (p && *p == "/") return std::string();
  return p;
}

Status make_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Status::unavailable("cannot create cgroup " + dir + ": " + ec.message() +
                               " (--limits needs write access to the cgroup hierarchy: run as "
                               "root, or in a delegated cgroup; or run without --limits)");
  return Status::ok();
}

std::string mib(int64_t bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return b;
}

std::string cpus_text(int64_t quota, int64_t period) {
  if (quota <= 0 || period <= 0) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%" PRId64 ".%02" PRId64, quota / period,
                quota % period * 100 / period);
  return b;
}

}  // namespace

YAML::Node resolve_merge_keys(const YAML::Node& node) {
  if (!node.IsMap() || !node["<<"]) return node;
  YAML::Node out = YAML::Clone(resolve_merge_keys(node["<<"]));
  for (const auto& kv : node)
    if (kv.first.as<std::string>() != "<<") out[kv.first.as<std::string>()] = kv.second;
  return out;
}

Result<int64_t> cpu_quota_us(const std::string& cpus, int64_t period_us) {
  std::smatch m;
  if (!std::regex_match(cpus, m, std::regex(R"((\d{1,3})(?:\.(\d{1,3}))?)")))
    return Status::invalid_argument("cpus: expected a decimal like 0.25, got '" + cpus + "'");
  std::string frac = m[2].str();
  frac.resize(3, '0');
  const int64_t milli = std::stoll(m[1].str()) * 1000 + std::stoll(frac);
  if (milli == 0) return Status::invalid_argument("cpus: must be above 0");
  return milli * period_us / 1000;
}

Result<int64_t> memory_bytes(const std::string& text) {
  std::smatch m;
  if (!std::regex_match(text, m, std::regex(R"((\d{1,12})\s*([bkmgBKMG]?)[bB]?)")))
    return Status::invalid_argument("memory: expected a size like 40MB, got '" + text + "'");
  int64_t n = std::stoll(m[1].str());
  switch (std::tolower(m[2].str().empty() ? 'b' : m[2].str()[0])) {
    case 'k':
      n <<= 10;
      break;
    case 'm':
      n <<= 20;
      break;
    case 'g':
      n <<= 30;
      break;
    default:
      break;
  }
  if (n == 0) return Status::invalid_argument("memory: must be above 0");
  return n;
}

Result<std::map<std::string, ServiceLimits>> compose_limits(const std::string& yaml_text) {
  YAML::Node doc;
  try {
    doc = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(std::string("compose file: ") + e.what());
  }
  if (!doc["services"] || !doc["services"].IsMap())
    return Status::invalid_argument("compose file: no services");
  std::map<std::string, ServiceLimits> out;
  for (const auto& kv : doc["services"]) {
    const std::string name = kv.first.as<std::string>();
    const YAML::Node limits = resolve_merge_keys(kv.second)["deploy"]["resources"]["limits"];
    if (!limits || !limits["cpus"] || !limits["memory"])
      return Status::invalid_argument("compose file: service " + name +
                                      " lacks deploy.resources.limits cpus and memory");
    ServiceLimits l;
    auto q = cpu_quota_us(limits["cpus"].as<std::string>(), l.cpu_period_us);
    if (!q.is_ok()) return Status::invalid_argument(name + ": " + q.status().message());
    auto b = memory_bytes(limits["memory"].as<std::string>());
    if (!b.is_ok()) return Status::invalid_argument(name + ": " + b.status().message());
    l.cpu_quota_us = *q;
    l.memory_bytes = *b;
    out[name] = l;
  }
  return out;
}

Result<std::map<std::string, ServiceLimits>> compose_limits_file(const std::string& path) {
  auto text = read_text(path);
  if (!text) return Status::not_found("cannot read compose file " + path);
  return compose_limits(*text);
}

Result<Cgroup> Cgroup::create(const std::string& parent, const std::string& name,
                              const ServiceLimits& limits) {
  const Hierarchies h = find_hierarchies();
  Cgroup g;
  const pid_t self = getpid();
  if (!h.v2.empty()) {
    const std::string base = h.v2 + own_path(self, "").value_or("");
    const std::string top = base + "/" + parent;
    Status s = make_dir(top + "/" + name);
    if (!s.is_ok()) return s;
    // Controllers must be enabled on the way down (fails where our own group holds processes
    // and is not the root: then the error says so).
    for (const std::string& d : {base, top}) {
      s = write_file(d + "/cgroup.subtree_control", "+cpu +memory");
      if (!s.is_ok()) return Status::unavailable(s.message() + " (cannot delegate cpu/memory)");
    }
    const std::string dir = top + "/" + name;
    s = write_file(dir + "/cpu.max", std::to_string(limits.cpu_quota_us) + " " +
                                         std::to_string(limits.cpu_period_us));
    if (s.is_ok())
      s = write_file(dir + "/memory.max",
                     limits.memory_bytes ? std::to_string(limits.memory_bytes) : "max");
    if (!s.is_ok()) return s;
    g.dirs_ = {dir};
    return g;
  }
  if (h.cpu.empty() || h.memory.empty())
    return Status::unavailable(
        "no cgroup v2 with cpu+memory and no cgroup v1 cpu and memory mounts: --limits cannot "
        "apply limits here");
  const std::string cpu = h.cpu + own_path(self, "cpu").value_or("") + "/" + parent + "/" + name;
  const std::string mem =
      h.memory + own_path(self, "memory").value_or("") + "/" + parent + "/" + name;
  for (const auto& d : {cpu, mem}) {
    Status s = make_dir(d);
    if (!s.is_ok()) return s;
  }
  Status s = write_file(cpu + "/cpu.cfs_period_us", std::to_string(limits.cpu_period_us));
  if (s.is_ok()) s = write_file(cpu + "/cpu.cfs_quota_us", std::to_string(limits.cpu_quota_us));
  if (s.is_ok())
    s = write_file(mem + "/memory.limit_in_bytes",
                   limits.memory_bytes ? std::to_string(limits.memory_bytes) : "-1");
  if (!s.is_ok()) return s;
  g.dirs_ = {cpu, mem};
  return g;
}

std::vector<std::string> Cgroup::procs_files() const {
  std::vector<std::string> out;
  for (const auto& d : dirs_) out.push_back(d + "/cgroup.procs");
  return out;
}

Status remove_cgroup_dirs(const std::vector<std::string>& dirs) {
  for (const auto& d : dirs) {
    // A process just stopped may take a moment to leave its group.
    for (int i = 0; i < 100; ++i) {
      if (rmdir(d.c_str()) == 0 || errno == ENOENT) break;
      if (errno != EBUSY) return Status::io_error("rmdir " + d + ": " + errno_text(errno));
      if (i == 99) return Status::io_error("cgroup " + d + " still holds processes");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return Status::ok();
}

std::optional<CgroupUsage> cgroup_usage_of(pid_t pid) {
  const Hierarchies h = find_hierarchies();
  CgroupUsage u;
  if (!h.v2.empty()) {
    auto p = own_path(pid, "");
    if (!p) return std::nullopt;
    const std::string d = h.v2 + *p;
    u.memory_peak = read_int(d + "/memory.peak").value_or(0);
    u.memory_limit = read_int(d + "/memory.max").value_or(0);
    u.oom_kills = keyed(d + "/memory.events", "oom_kill");
    std::ifstream cpu_max(d + "/cpu.max");
    std::string quota;
    cpu_max >> quota >> u.cpu_period_us;
    u.cpu_quota_us = quota == "max" || quota.empty() ? 0 : std::stoll(quota);
    u.periods = keyed(d + "/cpu.stat", "nr_periods");
    u.throttled = keyed(d + "/cpu.stat", "nr_throttled");
    u.throttled_ns = keyed(d + "/cpu.stat", "throttled_usec") * 1000;
  } else {
    auto cp = own_path(pid, "cpu");
    auto mp = own_path(pid, "memory");
    if (!cp || !mp || h.cpu.empty() || h.memory.empty()) return std::nullopt;
    const std::string c = h.cpu + *cp;
    const std::string m = h.memory + *mp;
    u.memory_peak = read_int(m + "/memory.max_usage_in_bytes").value_or(0);
    u.memory_limit = read_int(m + "/memory.limit_in_bytes").value_or(0);
    if (u.memory_limit >= (int64_t{1} << 60)) u.memory_limit = 0;  // v1's "unlimited"
    u.oom_kills = keyed(m + "/memory.oom_control", "oom_kill");
    u.cpu_quota_us = std::max<int64_t>(0, read_int(c + "/cpu.cfs_quota_us").value_or(-1));
    u.cpu_period_us = read_int(c + "/cpu.cfs_period_us").value_or(0);
    u.periods = keyed(c + "/cpu.stat", "nr_periods");
    u.throttled = keyed(c + "/cpu.stat", "nr_throttled");
    u.throttled_ns = keyed(c + "/cpu.stat", "throttled_time");
  }
  if (u.memory_limit == 0 && u.cpu_quota_us == 0) return std::nullopt;
  return u;
}

std::string limits_table(const std::map<std::string, ServiceLimits>& limits) {
  std::ostringstream o;
  char line[160];
  std::snprintf(line, sizeof line, "%-10s %6s %11s %10s\n", "service", "cpus", "quota/100ms",
                "memory_MiB");
  o << line;
  int64_t quota = 0, bytes = 0;
  for (const auto& [name, l] : limits) {
    std::snprintf(line, sizeof line, "%-10s %6s %9" PRId64 "us %10s\n", name.c_str(),
                  cpus_text(l.cpu_quota_us, l.cpu_period_us).c_str(), l.cpu_quota_us,
                  mib(l.memory_bytes).c_str());
    o << line;
    quota += l.cpu_quota_us * 100000 / l.cpu_period_us;
    bytes += l.memory_bytes;
  }
  std::snprintf(line, sizeof line, "%-10s %6s %9" PRId64 "us %10s\n", "total",
                cpus_text(quota, 100000).c_str(), quota, mib(bytes).c_str());
  o << line;
  return o.str();
}

std::string usage_table(const std::vector<std::pair<std::string, pid_t>>& processes) {
  std::ostringstream o;
  char line[200];
  bool any = false;
  for (const auto& [name, pid] : processes) {
    auto u = cgroup_usage_of(pid);
    if (!u) continue;
    if (!any) {
      std::snprintf(line, sizeof line, "%-18s %9s %9s %5s %5s %8s %9s %11s %4s\n", "service",
                    "peak_MiB", "limit_MiB", "used", "cpus", "periods", "throttled", "throttled_s",
                    "oom");
      o << line;
      any = true;
    }
    const int64_t pct = u->memory_limit > 0 ? u->memory_peak * 100 / u->memory_limit : 0;
    std::snprintf(line, sizeof line,
                  "%-18s %9s %9s %4" PRId64 "%% %5s %8" PRId64 " %9" PRId64 " %11.3f %4" PRId64
                  "\n",
                  name.c_str(), mib(u->memory_peak).c_str(),
                  u->memory_limit ? mib(u->memory_limit).c_str() : "-", pct,
                  cpus_text(u->cpu_quota_us, u->cpu_period_us).c_str(), u->periods, u->throttled,
                  static_cast<double>(u->throttled_ns) / 1e9, u->oom_kills);
    o << line;
  }
  if (any)
    o << "(peak: the group's peak charge, page cache included; throttled: CFS periods that hit "
         "the quota; oom: OOM kills in the group)\n";
  return o.str();
}

}  // namespace rinha::stack
