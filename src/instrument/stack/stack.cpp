// Stack: start order, readiness waits, the pids file, reverse-order stop and the status table.
// Reads no config; the parts read theirs (rinhad: config/rinhad.yaml + flags, PostgreSQL:
// config/postgresql.conf, HAProxy: deploy/haproxy/haproxy.cfg + environment).
#include "instrument/stack/stack.hpp"

#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "instrument/stack/cgroup.hpp"
#include "instrument/stack/net.hpp"
#include "net/socket.hpp"

namespace rinha::stack {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// True when args hold `flag value` or `flag=value`.
bool sets_flag(const std::vector<std::string>& args, const std::string& flag) {
  for (const auto& a : args)
    if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
  return false;
}

// `<spec's argv> --print-config` into <run_dir>/config-<name>.yaml, for run reports. Best effort:
// a failure leaves no file (the process itself then fails to start with the real message).
void save_effective_config(const ProcessSpec& spec, const std::string& run_dir) {
  ProcessSpec dump = spec;
  dump.argv.push_back("--print-config");
  dump.log_path = effective_config_file(run_dir, spec.name);
  dump.new_session = false;
  std::error_code ec;
  fs::remove(dump.log_path, ec);
  auto rc = run_to_completion(dump, milliseconds(10000));
  if (!rc.is_ok() || *rc != 0) fs::remove(dump.log_path, ec);
}

// Polls until the worker's hand-off socket accepts a connection.
Status wait_connectable(const std::string& address, milliseconds timeout,
                        const std::function<bool()>& still_running) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  while (true) {
    if (!still_running()) return Status::unavailable(address + ": the process behind it exited");
    auto fd = net::connect_to(address);
    if (fd.is_ok()) return Status::ok();
    last = fd.status().message();
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::timeout(address + ": not accepting within " + std::to_string(timeout.count()) +
                             " ms (last: " + last + ")");
    std::this_thread::sleep_for(milliseconds(50));
  }
}

std::string failure(const std::string& name, pid_t pid, const std::string& how,
                    const std::string& log) {
  std::string msg = name + " (pid " + std::to_string(pid) + ") " + how;
  if (!log.empty()) msg += "; last lines of " + log + ":\n" + tail_file(log);
  return msg;
}

}  // namespace

std::string pids_file(const std::string& run_dir) { return run_dir + "/pids"; }
std::string env_file(const std::string& run_dir) { return run_dir + "/stack.env"; }
std::string cgroups_file(const std::string& run_dir) { return run_dir + "/cgroups"; }

std::string effective_config_file(const std::string& run_dir, const std::string& name) {
  return run_dir + "/config-" + name + ".yaml";
}

Stack::~Stack() { down(); }

std::string Stack::api_url(int i) const {
  const int port = i >= 0 && static_cast<size_t>(i) < api_ports_.size() ? api_ports_[i] : 0;
  return "http://127.0.0.1:" + std::to_string(port);
}

std::string Stack::worker_name(int node) const {
  return opts_.nodes == 1 ? "worker" : "worker" + std::to_string(node + 1);
}

std::string Stack::worker_listen(int node) const {
  const std::string n = opts_.nodes == 1 ? "" : std::to_string(node + 1);
  return "unix:" + opts_.run_dir + "/worker" + n + ".sock";
}

const std::string& Stack::worker_metrics_url(int node) const {
  static const std::string kNone;
  return node >= 0 && static_cast<size_t>(node) < worker_metrics_urls_.size()
             ? worker_metrics_urls_[node]
             : kNone;
}

int Stack::node_of_worker(const std::string& name) const {
  for (int k = 0; k < opts_.nodes; ++k)
    if (name == worker_name(k)) return k;
  return -1;
}

Status Stack::record(const PidEntry& e) {
  entries_.push_back(e);
  std::ofstream out(pids_file(opts_.run_dir), std::ios::app);
  out << e.name << ' ' << e.pid << ' ' << e.stop_signal << ' ' << (e.group ? 1 : 0) << ' '
      << e.log_path << '\n';
  if (!out) return Status::io_error("cannot write " + pids_file(opts_.run_dir));
  return Status::ok();
}

// One group per service under rinha-stack-<our pid>, limits from the compose file; the list
// of directories goes to <run_dir>/cgroups before any process joins one.
Status Stack::make_cgroups() {
  const std::string compose = opts_.compose_file.empty()
                                  ? opts_.loc.source_dir + "/deploy/compose/docker-compose.yml"
                                  : opts_.compose_file;
  auto limits = compose_limits_file(compose);
  if (!limits.is_ok()) return limits.status();
  const std::string parent = "rinha-stack-" + std::to_string(getpid());
  std::set<std::string> parents;
  for (const char* service : {"postgres", "worker", "api1", "api2", "haproxy"}) {
    auto l = limits->find(service);
    if (l == limits->end())
      return Status::invalid_argument(compose + ": no service " + service + " to take limits from");
    Status s = add_cgroup(parent, service, l->second, {service}, parents);
    if (!s.is_ok()) return s;
  }
  cgroup_dirs_.insert(cgroup_dirs_.end(), parents.begin(), parents.end());
  return write_cgroups_file();
}

// One group node<k> per node holding its worker and apis, CPU-limited, no memory limit.
Status Stack::make_node_cgroups() {
  auto quota = cpu_quota_us(opts_.node_cpus);
  if (!quota.is_ok()) return Status::invalid_argument("node cpus: " + quota.status().message());
  ServiceLimits l;
  l.cpu_quota_us = *quota;
  const std::string parent = "rinha-stack-" + std::to_string(getpid());
  std::set<std::string> parents;
  for (int k = 0; k < opts_.nodes; ++k) {
    Status s = add_cgroup(
        parent, "node" + std::to_string(k + 1), l,
        {worker_name(k), "api" + std::to_string(2 * k + 1), "api" + std::to_string(2 * k + 2)},
        parents);
    if (!s.is_ok()) return s;
  }
  cgroup_dirs_.insert(cgroup_dirs_.end(), parents.begin(), parents.end());
  return write_cgroups_file();
}

Status Stack::add_cgroup(const std::string& parent, const std::string& group,
                         const ServiceLimits& l, const std::vector<std::string>& members,
                         std::set<std::string>& parents) {
  auto g = Cgroup::create(parent, group, l);
  if (!g.is_ok()) return g.status();
  for (const auto& m : members) cgroup_procs_[m] = g->procs_files();
  for (const auto& d : g->dirs()) {
    cgroup_dirs_.push_back(d);
    parents.insert(fs::path(d).parent_path().string());
  }
  return Status::ok();
}

Status Stack::write_cgroups_file() {
  std::ofstream out(cgroups_file(opts_.run_dir), std::ios::trunc);
  for (const auto& d : cgroup_dirs_) out << d << '\n';
  if (!out) return Status::io_error("cannot write " + cgroups_file(opts_.run_dir));
  return Status::ok();
}

std::vector<std::string> Stack::cgroup_of(const std::string& name) const {
  auto g = cgroup_procs_.find(name);
  return g == cgroup_procs_.end() ? std::vector<std::string>{} : g->second;
}

void Stack::remove_cgroups() {
  if (cgroup_dirs_.empty()) return;
  (void)remove_cgroup_dirs(cgroup_dirs_);
  cgroup_dirs_.clear();
  cgroup_procs_.clear();
  std::error_code ec;
  fs::remove(cgroups_file(opts_.run_dir), ec);
}

Status Stack::start_process(const ProcessSpec& spec) {
  ProcessSpec s = spec;
  s.new_session = opts_.new_session;
  auto p = Process::start(s, cgroup_of(s.name));
  if (!p.is_ok()) return p.status();
  procs_.push_back(std::move(p).value());
  specs_.push_back(s);
  return record({s.name, procs_.back().pid(), SIGTERM, true, s.log_path});
}

std::function<bool()> Stack::all_running() {
  return [this] { return check_alive().is_ok(); };
}

Status Stack::check_alive() {
  if (pg_ && pg_->process().owned() && !pg_->process().alive())  // owned: not kill()ed
    return Status::unavailable(failure("postgres", entries_.front().pid,
                                       "died: " + pg_->process().exit_description(),
                                       pg_->process().log_path()));
  for (auto& p : procs_) {
    if (p.owned() && !p.alive())
      return Status::unavailable(
          failure(p.name(), p.pid(), "died: " + p.exit_description(), p.log_path()));
  }
  return Status::ok();
}

// A failed wait: if a process died, that is the story; else the wait's own error.
Status Stack::died_or(Status waited) {
  Status dead = check_alive();
  if (!dead.is_ok()) return dead;
  return waited;
}

Result<Stack> Stack::up(const StackOptions& requested) {
  // Absolute: PostgreSQL resolves paths after chdir to its data dir, and the worker's socket
  // path must mean the same to every process whatever its working directory.
  StackOptions opts = requested;
  if (opts.nodes < 1 || opts.nodes > 64)
    return Status::invalid_argument("nodes: " + std::to_string(opts.nodes) + " is not in 1..64");
  if (opts.limits && (opts.nodes > 1 || !opts.node_cpus.empty()))
    return Status::invalid_argument(
        "limits (per compose service, one node) do not go with nodes > 1 or node cpus");
  std::error_code ec;
  opts.run_dir = fs::absolute(requested.run_dir, ec).lexically_normal().string();
  while (opts.run_dir.size() > 1 && opts.run_dir.back() == '/') opts.run_dir.pop_back();
  Stack st;
  st.opts_ = opts;
  fs::create_directories(opts.run_dir, ec);
  if (ec) return Status::io_error("cannot create " + opts.run_dir + ": " + ec.message());
  if (fs::exists(pids_file(opts.run_dir)))
    return Status::invalid_argument(pids_file(opts.run_dir) +
                                    " exists: a stack may be running there (stack down first)");
  fs::permissions(opts.run_dir,
                  fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                      fs::perms::others_read | fs::perms::others_exec,
                  ec);
  const std::string dir = opts.run_dir + "/";
  const auto t = opts.ready_timeout;
  auto running = st.all_running();

  if (opts.limits || !opts.node_cpus.empty()) {
    Status s = opts.limits ? st.make_cgroups() : st.make_node_cgroups();
    if (!s.is_ok()) return s;
  }

  if (opts.postgres) {
    PostgresOptions po;
    po.cgroup_procs = st.cgroup_of("postgres");
    po.base_dir = opts.run_dir;
    po.bin_dir = opts.loc.pg_bin_dir;
    po.conf_include = fs::exists(opts.loc.postgres_config()) ? opts.loc.postgres_config() : "";
    po.new_session = opts.new_session;
    po.ready_timeout = t;
    po.template_dir = opts.pg_template_dir;
    auto pg = Postgres::start(po);
    if (!pg.is_ok()) return pg.status();
    st.pg_ = std::move(pg).value();
    st.database_url_ = st.pg_->url();
    Status s = st.record(
        {"postgres", st.pg_->process().pid(), SIGINT, false, st.pg_->process().log_path()});
    if (!s.is_ok()) return s;
  } else {
    st.database_url_ = opts.database_url;
  }

  st.default_url_ = opts.default_url;
  st.fallback_url_ = opts.fallback_url;
  const bool external = !opts.default_url.empty() && !opts.fallback_url.empty();
  if (opts.emulators && !external) {
    auto fees = fees_for(opts.fees);
    if (!fees.is_ok()) return fees.status();
    for (const char* name : {"default", "fallback"}) {
      const int wanted = std::string(name) == "default" ? opts.default_port : opts.fallback_port;
      const int port = wanted ? wanted : free_port();
      const std::string fee =
          std::string(name) == "default" ? fees->default_fee : fees->fallback_fee;
      Status s = st.start_process(
          emulator_spec(opts.loc, name, port, fee, opts.token, dir + "processor-" + name + ".log"));
      if (!s.is_ok()) return s;
      const std::string url = "http://127.0.0.1:" + std::to_string(port);
      // Any answer will do: the health endpoint is rate limited and must not be spent here.
      s = wait_http_answer(url + "/", t, running);
      if (!s.is_ok()) return st.died_or(s);
      (std::string(name) == "default" ? st.default_url_ : st.fallback_url_) = url;
    }
  }

  // Node k's worker socket and journal; the single node keeps worker.sock and journal.
  auto wiring = [&](int node) {
    const std::string n = opts.nodes == 1 ? "" : std::to_string(node + 1);
    return RinhadWiring{st.worker_listen(node), st.default_url_, st.fallback_url_, st.database_url_,
                        dir + "journal" + n};
  };
  // rinhad reads a copy taken now: a process restarted later (a test, a soak's restart) must
  // not meet a source tree edited or checked out since, with keys its binary does not know.
  Locations loc = opts.loc;
  if (const std::string cfg = loc.rinhad_config(); !cfg.empty()) {
    std::error_code copy_ec;
    fs::copy_file(cfg, dir + "rinhad.yaml", fs::copy_options::overwrite_existing, copy_ec);
    if (copy_ec) return Status::io_error("copy " + cfg + " to the run dir: " + copy_ec.message());
    loc.rinhad_config_path = dir + "rinhad.yaml";
  }
  st.worker_metrics_urls_.assign(static_cast<size_t>(opts.nodes), "");
  for (int k = 0; opts.worker && k < opts.nodes; ++k) {
    ProcessSpec spec = worker_spec(loc, wiring(k), dir + st.worker_name(k) + ".log");
    spec.name = st.worker_name(k);
    if (opts.worker_metrics && !sets_flag(opts.worker_args, "--worker.metrics_listen")) {
      const std::string listen = loopback_address(free_port());
      spec.argv.insert(spec.argv.end(), {"--worker.metrics_listen", listen});
      st.worker_metrics_urls_[k] = "http://" + listen + "/metrics";
    }
    // One health budget per processor for the whole cluster (docs/scale-out.md, 4).
    if (opts.nodes > 1 && !sets_flag(opts.worker_args, "--health.shared"))
      spec.argv.insert(spec.argv.end(), {"--health.shared", "on"});
    // Its own books in the shared ledger.
    if (opts.nodes > 1 && !sets_flag(opts.worker_args, "--cluster.node"))
      spec.argv.insert(spec.argv.end(), {"--cluster.node", std::to_string(k + 1)});
    spec.argv.insert(spec.argv.end(), opts.worker_args.begin(), opts.worker_args.end());
    save_effective_config(spec, opts.run_dir);
    Status s = st.start_process(spec);
    if (!s.is_ok()) return s;
  }
  for (int k = 0; opts.worker && k < opts.nodes; ++k) {
    Status s = wait_connectable(st.worker_listen(k), t, running);
    if (!s.is_ok()) return st.died_or(s);
  }

  std::vector<std::string> backends = {opts.api1_address, opts.api2_address};
  if (opts.apis) {
    backends.clear();
    for (int i = 0; i < 2 * opts.nodes; ++i) {
      st.api_ports_.push_back(free_port());
      const std::string name = "api" + std::to_string(i + 1);
      ProcessSpec spec = api_spec(loc, wiring(i / 2), name, st.api_ports_[i], dir + name + ".log");
      // A cluster's api answers summaries and purges for every node (docs/scale-out.md, 2).
      if (opts.nodes > 1 && !sets_flag(opts.api_args, "--cluster.peers")) {
        std::string peers;
        for (int k = 0; k < opts.nodes; ++k)
          if (k != i / 2) peers += (peers.empty() ? "" : ",") + st.worker_listen(k);
        spec.argv.insert(spec.argv.end(), {"--cluster.peers", peers});
      }
      spec.argv.insert(spec.argv.end(), opts.api_args.begin(), opts.api_args.end());
      save_effective_config(spec, opts.run_dir);
      Status s = st.start_process(spec);
      if (!s.is_ok()) return s;
      backends.push_back(loopback_address(st.api_ports_[i]));
    }
    for (int i = 0; i < 2 * opts.nodes; ++i) {
      Status s = wait_http_ok(st.api_url(i) + "/healthcheck", t, running);
      if (!s.is_ok()) return st.died_or(s);
    }
  }

  if (opts.haproxy) {
    st.lb_port_ = opts.lb_port ? opts.lb_port : free_port();
    std::string cfg = opts.haproxy_config.empty() ? opts.loc.haproxy_config() : opts.haproxy_config;
    if (backends.size() > 2) {  // a cluster: the same settings over every api
      std::ifstream in(cfg);
      std::stringstream text;
      text << in.rdbuf();
      auto cluster_cfg = haproxy_config_for_apis(text.str(), static_cast<int>(backends.size()));
      if (!in || !cluster_cfg.is_ok())
        return Status::invalid_argument(
            cfg + ": " + (in ? cluster_cfg.status().message() : std::string("cannot read")));
      cfg = dir + "haproxy.cfg";
      std::ofstream out(cfg, std::ios::trunc);
      out << *cluster_cfg;
      if (!out) return Status::io_error("cannot write " + cfg);
    }
    Status s = st.start_process(
        haproxy_spec(opts.loc, cfg, loopback_address(st.lb_port_), backends, dir + "haproxy.log"));
    if (!s.is_ok()) return s;
    // With apis behind it, the official gate; a bare HAProxy (dummy backends) just answers.
    s = opts.apis ? wait_http_ok(st.lb_url() + "/payments-summary", t, running)
                  : wait_http_answer(st.lb_url() + "/", t, running);
    if (!s.is_ok()) return st.died_or(s);
  }
  std::ofstream env(env_file(opts.run_dir), std::ios::trunc);
  env << "RINHA_LB_URL=" << (st.lb_port_ ? st.lb_url() : "") << "\n"
      << "RINHA_DEFAULT_URL=" << st.default_url_ << "\n"
      << "RINHA_FALLBACK_URL=" << st.fallback_url_ << "\n"
      << "RINHA_DATABASE_URL=" << st.database_url_ << "\n"
      << "RINHA_WORKER_METRICS_URL=" << st.worker_metrics_url(0) << "\n"
      << "RINHA_WORKER_METRICS_URLS=\"";
  for (int k = 0; k < opts.nodes; ++k) env << (k ? " " : "") << st.worker_metrics_url(k);
  env << "\"\nRINHA_NODES=" << opts.nodes << "\n";
  return st;
}

Status Stack::rewrite_pids_file() {
  std::ofstream out(pids_file(opts_.run_dir), std::ios::trunc);
  for (const auto& e : entries_)
    out << e.name << ' ' << e.pid << ' ' << e.stop_signal << ' ' << (e.group ? 1 : 0) << ' '
        << e.log_path << '\n';
  if (!out) return Status::io_error("cannot write " + pids_file(opts_.run_dir));
  return Status::ok();
}

// The readiness wait of up() for one (re)started process.
Status Stack::wait_ready(const std::string& name) {
  const auto t = opts_.ready_timeout;
  auto running = all_running();
  Status s = Status::ok();
  if (name == "processor-default")
    s = wait_http_answer(default_url_ + "/", t, running);
  else if (name == "processor-fallback")
    s = wait_http_answer(fallback_url_ + "/", t, running);
  else if (const int node = node_of_worker(name); node >= 0)
    s = wait_connectable(worker_listen(node), t, running);
  else if (name.rfind("api", 0) == 0)
    s = wait_http_ok(api_url(std::stoi(name.substr(3)) - 1) + "/healthcheck", t, running);
  else if (name == "haproxy")
    s = opts_.apis ? wait_http_ok(lb_url() + "/payments-summary", t, running)
                   : wait_http_answer(lb_url() + "/", t, running);
  return s.is_ok() ? s : died_or(s);
}

Status Stack::kill(const std::string& name, int sig) {
  if (name == "postgres") {
    if (!pg_) return Status::not_found("postgres was not started here");
    pg_->stop();
    return Status::ok();
  }
  for (auto& p : procs_) {
    if (p.name() != name) continue;
    p.stop(std::chrono::milliseconds(10000), sig);
    return Status::ok();
  }
  return Status::not_found("no process named " + name);
}

Status Stack::restart(const std::string& name) {
  if (name == "postgres") {
    if (!pg_) return Status::not_found("postgres was not started here");
    Status s = pg_->resume();
    if (!s.is_ok()) return s;
    for (auto& e : entries_)
      if (e.name == name) e.pid = pg_->process().pid();
    return rewrite_pids_file();
  }
  for (size_t i = 0; i < procs_.size(); ++i) {
    if (procs_[i].name() != name) continue;
    procs_[i].stop(std::chrono::milliseconds(5000));  // no-op once killed
    auto p = Process::start(specs_[i], cgroup_of(specs_[i].name));
    if (!p.is_ok()) return p.status();
    procs_[i] = std::move(p).value();
    for (auto& e : entries_)
      if (e.name == name) e.pid = procs_[i].pid();
    Status s = rewrite_pids_file();
    if (!s.is_ok()) return s;
    return wait_ready(name);
  }
  return Status::not_found("no process named " + name);
}

void Stack::down() {
  for (auto it = procs_.rbegin(); it != procs_.rend(); ++it) it->stop();
  procs_.clear();
  specs_.clear();
  if (pg_) {
    pg_->stop();
    pg_.reset();
  }
  if (!entries_.empty()) {
    std::error_code ec;
    fs::remove(pids_file(opts_.run_dir), ec);
    fs::remove(env_file(opts_.run_dir), ec);
    entries_.clear();
  }
  remove_cgroups();
}

void Stack::detach() {
  for (auto& p : procs_) p.release();
  procs_.clear();
  specs_.clear();
  if (pg_) {
    pg_->release();
    pg_.reset();
  }
  entries_.clear();
  cgroup_dirs_.clear();  // `stack down` removes them (<run_dir>/cgroups)
  cgroup_procs_.clear();
}

Result<std::vector<PidEntry>> read_pids_file(const std::string& run_dir) {
  std::ifstream in(pids_file(run_dir));
  if (!in) return Status::not_found("no " + pids_file(run_dir));
  std::vector<PidEntry> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    PidEntry e;
    int group = 1;
    if (!(ls >> e.name >> e.pid >> e.stop_signal >> group)) continue;
    e.group = group != 0;
    std::getline(ls >> std::ws, e.log_path);
    out.push_back(e);
  }
  return out;
}

Status stop_from_pids_file(const std::string& run_dir, milliseconds grace) {
  auto entries = read_pids_file(run_dir);
  if (!entries.is_ok()) return Status::ok();
  std::string stuck;
  for (auto it = entries->rbegin(); it != entries->rend(); ++it) {
    if (!stop_pid(it->pid, grace, it->stop_signal, it->group))
      stuck += " " + it->name + "(" + std::to_string(it->pid) + ")";
  }
  if (!stuck.empty()) return Status::internal("still running:" + stuck);
  std::error_code ec;
  fs::remove(pids_file(run_dir), ec);
  fs::remove(env_file(run_dir), ec);
  std::ifstream groups(cgroups_file(run_dir));
  std::vector<std::string> dirs;
  for (std::string d; std::getline(groups, d);)
    if (!d.empty()) dirs.push_back(d);
  if (dirs.empty()) return Status::ok();
  Status s = remove_cgroup_dirs(dirs);
  if (s.is_ok()) fs::remove(cgroups_file(run_dir), ec);
  return s;
}

std::string status_table(const std::vector<PidEntry>& entries) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-18s %8s %-5s %9s %9s %9s %5s  %s\n", "process", "pid",
                "alive", "rss_mib", "pss_mib", "cpu_s", "procs", "log");
  out += line;
  for (const auto& e : entries) {
    auto m = tree_memory(e.pid);
    const bool alive = m.has_value();
    std::snprintf(line, sizeof line, "%-18s %8d %-5s %9.1f %9.1f %9.2f %5d  %s\n", e.name.c_str(),
                  e.pid, alive ? "yes" : "no", alive ? m->rss_kib / 1024.0 : 0.0,
                  alive ? m->pss_kib / 1024.0 : 0.0, alive ? m->cpu_seconds : 0.0,
                  alive ? m->processes : 0, e.log_path.c_str());
    out += line;
  }
  std::vector<std::pair<std::string, pid_t>> processes;
  for (const auto& e : entries) processes.emplace_back(e.name, e.pid);
  return out + usage_table(processes);
}

}  // namespace rinha::stack
