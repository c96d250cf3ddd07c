// Stack: the whole local deployment, or any subset of it, started in dependency order:
// PostgreSQL -> two processor emulators -> rinhad worker -> two rinhad apis -> HAProxy.
// With nodes = N > 1 (a cluster, docs/scale-out.md): N workers, each with its two apis, and
// HAProxy over all 2N apis, on the one PostgreSQL.
// Each step waits until its process answers; if one dies or times out, the error names it,
// gives its exit status and the tail of its log, and everything already started is stopped.
//
// Attached (tests): the Stack owns its processes; destruction stops them in reverse order.
// Detached (`rinhactl stack up`): detach() releases them; <run_dir>/pids lists each one (written
// as they start, so even a half-started stack can be taken down) and stop_from_pids_file()
// stops exactly those, in reverse order. Once ready, <run_dir>/stack.env holds the URLs as
// shell assignments (RINHA_LB_URL, RINHA_DEFAULT_URL, RINHA_FALLBACK_URL, RINHA_DATABASE_URL,
// RINHA_WORKER_METRICS_URL (node 1's), RINHA_WORKER_METRICS_URLS (every node's, space-separated),
// RINHA_NODES) for scripts to source, and <run_dir>/config-<worker|api1|api2>.yaml
// the effective configuration of each rinhad (`rinhad ... --print-config`, secrets masked), for
// run reports.
//
// Threading: one owner.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "instrument/stack/cgroup.hpp"
#include "instrument/stack/components.hpp"
#include "instrument/stack/postgres.hpp"
#include "instrument/stack/process.hpp"

namespace rinha::stack {

struct StackOptions {
  std::string run_dir;  // logs, pids, worker.sock, journal, pg/ (created)
  Locations loc = Locations::defaults();

  // Which parts to start. Parts not started are taken from the fields below.
  bool postgres = true;
  bool emulators = true;  // ignored when default_url and fallback_url are both given
  bool worker = true;
  bool apis = true;
  bool haproxy = true;

  int lb_port = 0;       // HAProxy on 127.0.0.1:<lb_port>; 0 = a free port
  int default_port = 0;  // emulators' ports; 0 = a free port
  int fallback_port = 0;
  std::string default_url;       // external processors (any implementation of the
  std::string fallback_url;      // contract); "" = the emulators' URLs
  std::string fees = "preview";  // emulator fees: preview | final
  std::string token = "123";     // emulators' admin token
  std::string database_url;      // when postgres = false
  std::string api1_address;      // HAProxy backends when apis = false (host:port)
  std::string api2_address;
  std::string haproxy_config;            // "" = loc.haproxy_config()
  bool new_session = false;              // children in their own sessions (detached stacks)
  std::vector<std::string> worker_args;  // extra rinhad flags for the worker
  std::vector<std::string> api_args;     // extra rinhad flags for both apis
  // The worker serves GET /metrics on a free loopback port (published as
  // RINHA_WORKER_METRICS_URL), unless worker_args already set --worker.metrics_listen.
  bool worker_metrics = true;
  std::chrono::milliseconds ready_timeout{60000};  // per step
  // Each of postgres, worker, api1, api2 and haproxy in its own cgroup carrying that service's
  // deploy.resources.limits from compose_file ("" = <source>/deploy/compose/docker-compose.yml).
  bool limits = false;
  std::string compose_file;
  // Nodes, each one worker with its two apis. 1: the single-node stack, names unchanged (worker,
  // api1, api2). N > 1: worker1..workerN, node k with api<2k-1> and api<2k>, HAProxy over all
  // 2N apis (its config's server lines rewritten, haproxy_config_for_apis), every worker with
  // health.shared on (one health budget for the cluster) unless worker_args set it and
  // cluster.node k (its own books in the shared ledger), every api
  // with cluster.peers = the other nodes' workers (summaries of the whole cluster).
  int nodes = 1;
  // Each node's worker and apis in one cgroup with this CPU limit ("0.5" = half a core; "" =
  // none), so scaling shows on one machine. Not with limits (per service, single node).
  std::string node_cpus;
  // PostgresOptions::template_dir ("" = initdb at every start).
  std::string pg_template_dir;
};

// One line of <run_dir>/pids.
struct PidEntry {
  std::string name;
  pid_t pid = 0;
  int stop_signal = 15;  // PostgreSQL: SIGINT = fast shutdown
  bool group = true;     // signal the process group (PostgreSQL: the postmaster only)
  std::string log_path;
};

class Stack {
 public:
  Stack() = default;
  ~Stack();
  Stack(Stack&&) = default;
  Stack& operator=(Stack&&) = default;

  // Starts the selected parts; fails (after stopping what started) naming the part at fault.
  static Result<Stack> up(const StackOptions& opts);

  // The official readiness gate: GET <lb>/payments-summary answers 200.
  std::string lb_url() const { return "http://127.0.0.1:" + std::to_string(lb_port_); }
  int lb_port() const { return lb_port_; }
  std::string api_url(int i) const;  // i = 0 .. 2 x nodes - 1
  int nodes() const { return opts_.nodes; }
  // The process name of node k's worker (0-based): "worker" on a single node, else "worker<k+1>".
  std::string worker_name(int node) const;
  const std::string& default_url() const { return default_url_; }
  const std::string& fallback_url() const { return fallback_url_; }
  const std::string& database_url() const { return database_url_; }
  // http://127.0.0.1:<port>/metrics of node k's worker, "" when it serves none (or was not
  // started).
  const std::string& worker_metrics_url(int node = 0) const;
  // Node k's hand-off socket: unix:<run_dir>/worker.sock on a single node, worker<k+1>.sock else.
  std::string worker_listen(int node = 0) const;
  Postgres* postgres() { return pg_ ? &*pg_ : nullptr; }
  const std::vector<PidEntry>& entries() const { return entries_; }

  // Ok while every started process runs; else names the first dead one with its log tail.
  Status check_alive();

  // Fault injection (chaos and outage tests). kill() sends sig to the named process ("worker",
  // "api1", "default", "haproxy", ...; "postgres" is always stopped with pg_ctl stop -m fast,
  // whatever sig) and reaps it. restart() starts it again from the spec it was first started
  // with (PostgreSQL: same data dir and port) and waits until it answers as up() does; the new
  // pid replaces the old one in entries() and the pids file.
  Status kill(const std::string& name, int sig);
  Status restart(const std::string& name);

  // Stops everything in reverse start order and removes the pids file. Idempotent.
  void down();
  // Forgets the processes (they keep running); the pids file stays for stop_from_pids_file.
  void detach();

 private:
  Status start_process(const ProcessSpec& spec);
  Status record(const PidEntry& e);
  std::function<bool()> all_running();
  Status died_or(Status waited);
  Status wait_ready(const std::string& name);
  Status rewrite_pids_file();

  Status make_cgroups();
  Status make_node_cgroups();
  Status add_cgroup(const std::string& parent, const std::string& group, const ServiceLimits& l,
                    const std::vector<std::string>& members, std::set<std::string>& parents);
  Status write_cgroups_file();
  int node_of_worker(const std::string& name) const;                  // -1: not a worker's name
  std::vector<std::string> cgroup_of(const std::string& name) const;  // its cgroup.procs files
  void remove_cgroups();

  StackOptions opts_;
  std::map<std::string, std::vector<std::string>> cgroup_procs_;  // service -> cgroup.procs
  std::vector<std::string> cgroup_dirs_;                          // leaves first
  std::optional<Postgres> pg_;
  std::vector<Process> procs_;      // start order, PostgreSQL excluded
  std::vector<ProcessSpec> specs_;  // what procs_[i] was started from (for restart)
  std::vector<PidEntry> entries_;   // start order, PostgreSQL included
  int lb_port_ = 0;
  std::vector<int> api_ports_;
  std::vector<std::string> worker_metrics_urls_;  // per node
  std::string default_url_, fallback_url_, database_url_;
};

// <run_dir>/config-<name>.yaml: where up() leaves the effective configuration of rinhad <name>.
std::string effective_config_file(const std::string& run_dir, const std::string& name);

std::string pids_file(const std::string& run_dir);
// The cgroup directories of a stack started with limits, one a line, removed by down.
std::string cgroups_file(const std::string& run_dir);
std::string env_file(const std::string& run_dir);
Result<std::vector<PidEntry>> read_pids_file(const std::string& run_dir);

// Stops every process listed in <run_dir>/pids, newest first; removes the file (and the
// cgroups of a limited stack) when all are gone. Fails naming those that would not stop; ok (no-op)
// when there is no pids file.
Status stop_from_pids_file(const std::string& run_dir, std::chrono::milliseconds grace);

// A table: name, pid, alive, RSS and PSS (MiB) and CPU seconds of each process tree, log path;
// then, for processes in a limited cgroup, what the group saw (cgroup.hpp usage_table).
std::string status_table(const std::vector<PidEntry>& entries);

}  // namespace rinha::stack
