// Resource limits of the local stack: each service's deploy.resources.limits read from the
// compose file (the one source of truth), a cgroup per service carrying them (cgroup v2 where it
// is the unified hierarchy, else v1's cpu and memory controllers), and what each group saw:
// peak memory charged (page cache included) against its limit, CFS throttling, OOM kills.
// Groups are made under the cgroup of the calling process (so whatever accounts for the caller
// still accounts for the stack); a process joins its group between fork and exec
// (ProcessSpec::cgroup_procs), so all its memory is charged there.
//
// Threading: plain functions and a value type; no shared state.
#pragma once

#include <sys/types.h>
#include <yaml-cpp/node/node.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"

namespace rinha::stack {

// yaml-cpp 0.7 keeps YAML merge keys ("<<: *anchor") as plain keys; compose resolves them, own
// keys winning, recursively. Returns node with its merges applied.
YAML::Node resolve_merge_keys(const YAML::Node& node);

struct ServiceLimits {
  int64_t cpu_quota_us = 0;  // CFS quota per cpu_period_us: cpus x period, exactly
  int64_t cpu_period_us = 100000;
  int64_t memory_bytes = 0;  // 0 = no memory limit (a node's CPU-only group)
};

// "0.25" -> 25000 (per 100 ms period); up to 3 decimals, no floating point. Error otherwise.
Result<int64_t> cpu_quota_us(const std::string& cpus, int64_t period_us = 100000);
// Compose memory sizes as Docker reads them: "40MB", "40m", "512k", "1g", "1048576" (bytes);
// the units are binary (MB = MiB), so "40MB" is 41943040 bytes.
Result<int64_t> memory_bytes(const std::string& text);
// Every service's deploy.resources.limits from compose YAML text (merge keys `<<: *x` resolved
// as compose does); a service without both limits is an error naming it.
Result<std::map<std::string, ServiceLimits>> compose_limits(const std::string& yaml_text);
Result<std::map<std::string, ServiceLimits>> compose_limits_file(const std::string& path);

// One service's group: a directory per hierarchy (v2: one; v1: cpu and memory).
class Cgroup {
 public:
  // Creates <own cgroup>/<parent>/<name> with the limits. Fails with a message saying what to
  // do when cgroups are not mounted or not writable.
  static Result<Cgroup> create(const std::string& parent, const std::string& name,
                               const ServiceLimits& limits);
  // The files a child writes "0" into to join the group before exec.
  std::vector<std::string> procs_files() const;
  const std::vector<std::string>& dirs() const { return dirs_; }

 private:
  std::vector<std::string> dirs_;
};

// Removes the groups' directories, leaves first, then the parents named; ignores missing ones.
// Fails naming a directory that still holds processes.
Status remove_cgroup_dirs(const std::vector<std::string>& dirs);

struct CgroupUsage {
  int64_t memory_peak = 0;   // bytes, the group's peak charge, page cache included
  int64_t memory_limit = 0;  // bytes; 0 = none
  int64_t cpu_quota_us = 0;  // 0 = none
  int64_t cpu_period_us = 0;
  int64_t periods = 0;    // CFS periods with runnable tasks
  int64_t throttled = 0;  // ... of which the group hit its quota
  int64_t throttled_ns = 0;
  int64_t oom_kills = 0;
};
// What the cgroup of a running process saw; nullopt when the process is gone or its group has
// neither a CPU nor a memory limit (an ordinary process).
std::optional<CgroupUsage> cgroup_usage_of(pid_t pid);

// "service  cpus  memory" rows, for `stack up --limits`.
std::string limits_table(const std::map<std::string, ServiceLimits>& limits);
// "service  peak/limit  %  throttled periods/time  oom" rows for the named processes that run
// in a limited group; "" when none does.
std::string usage_table(const std::vector<std::pair<std::string, pid_t>>& processes);

}  // namespace rinha::stack
