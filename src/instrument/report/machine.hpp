// The machine a run measured on, and the worker's gauges: parsers of /proc texts and of
// Prometheus exposition text (pure, tested on fixed strings), and read_machine(), which reads
// the real /proc files.
// Thread-safe: free functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "instrument/report/run_record.hpp"

namespace rinha::report {

// /proc/loadavg: the 1, 5 and 15 minute averages; empty when malformed.
std::vector<double> parse_loadavg(std::string_view text);

// The aggregate "cpu" line of /proc/stat as busy and total jiffies (busy excludes idle and
// iowait); nullopt when absent.
struct CpuTimes {
  int64_t busy = 0;
  int64_t total = 0;
};
std::optional<CpuTimes> parse_cpu_times(std::string_view proc_stat);
// Busy share between two readings, in percent; nullopt when no time passed.
std::optional<double> busy_pct(const CpuTimes& before, const CpuTimes& after);

// The worker's gauges in its /metrics text: rinha_worker_backlog and
// rinha_worker_in_flight{processor="default"|"fallback"}. Missing ones stay nullopt.
struct WorkerGauges {
  std::optional<int64_t> backlog;
  std::optional<int64_t> in_flight_default;
  std::optional<int64_t> in_flight_fallback;
};
WorkerGauges parse_worker_gauges(std::string_view prometheus_text);

// Cores online, CPU model (/proc/cpuinfo), memory (/proc/meminfo), kernel (uname) and the load
// average now (as load_before); fields it cannot read stay empty.
MachineRecord read_machine();

// The whole file ("" when unreadable).
std::string read_text_file(const std::string& path);

}  // namespace rinha::report
