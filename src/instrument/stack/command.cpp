// rinhactl stack up|down|status. `up` starts the stack in new sessions and exits, leaving it
// running; `down` stops what the run dir's pids file lists; `status` shows each process.
// Reads no config of its own (see stack.hpp for what each part reads).
#include "instrument/stack/command.hpp"

#include <cstdio>
#include <filesystem>
#include <memory>

#include "instrument/stack/cgroup.hpp"
#include "instrument/stack/stack.hpp"

namespace rinha::stack {
namespace {

struct UpArgs {
  std::string run_dir = "run/stack";
  int lb_port = 9999;
  int default_port = 8001;
  int fallback_port = 8002;
  std::string default_url;
  std::string fallback_url;
  std::string fees = "preview";
  std::string token = "123";
  int timeout_s = 60;
  std::string rinhad;
  std::string rinhactl;
  std::string source_dir;
  std::vector<std::string> rinhad_args;  // given to every rinhad (worker and apis)
  bool limits = false;
  std::string compose_file;
  int nodes = 1;
  std::string node_cpus;
};

[[noreturn]] void fail(const std::string& msg, int code = 1) {
  std::fprintf(stderr, "rinhactl stack: %s\n", msg.c_str());
  throw CLI::RuntimeError(code);
}

void run_up(const UpArgs& a) {
  if (a.default_url.empty() != a.fallback_url.empty())
    fail("--default-url and --fallback-url go together", 2);
  StackOptions o;
  // Absolute: PostgreSQL and HAProxy resolve paths from their own working directories.
  o.run_dir = std::filesystem::absolute(a.run_dir).lexically_normal().string();
  if (!a.rinhad.empty()) o.loc.rinhad = a.rinhad;
  if (!a.rinhactl.empty()) o.loc.rinhactl = a.rinhactl;
  if (!a.source_dir.empty()) o.loc.source_dir = a.source_dir;
  o.lb_port = a.lb_port;
  o.default_port = a.default_port;
  o.fallback_port = a.fallback_port;
  o.default_url = a.default_url;
  o.fallback_url = a.fallback_url;
  o.fees = a.fees;
  o.token = a.token;
  o.new_session = true;
  o.ready_timeout = std::chrono::seconds(a.timeout_s);
  o.worker_args = a.rinhad_args;
  o.api_args = a.rinhad_args;
  o.limits = a.limits;
  o.compose_file = a.compose_file;
  o.nodes = a.nodes;
  o.node_cpus = a.node_cpus;
  if (a.limits) {
    const std::string compose = a.compose_file.empty()
                                    ? o.loc.source_dir + "/deploy/compose/docker-compose.yml"
                                    : a.compose_file;
    auto limits = compose_limits_file(compose);
    if (!limits.is_ok()) fail(limits.status().message(), 2);
    std::printf("limits from %s (each process starts inside its service's cgroup):\n%s",
                compose.c_str(), limits_table(*limits).c_str());
  }
  auto st = Stack::up(o);
  if (!st.is_ok()) fail("up failed: " + st.status().message());
  Stack stack = std::move(st).value();
  std::printf("%s", status_table(stack.entries()).c_str());
  std::printf(
      "ready: %s/payments-summary answers 200\nprocessors: default %s, fallback %s\n"
      "database: %s\nshell variables: %s\nstop with: rinhactl stack down --run-dir %s\n",
      stack.lb_url().c_str(), stack.default_url().c_str(), stack.fallback_url().c_str(),
      stack.database_url().c_str(), env_file(a.run_dir).c_str(), a.run_dir.c_str());
  stack.detach();
}

void run_down(const std::string& run_dir, int grace_s) {
  Status s = stop_from_pids_file(run_dir, std::chrono::seconds(grace_s));
  if (!s.is_ok()) fail("down: " + s.message());
  std::printf("stack in %s stopped\n", run_dir.c_str());
}

void run_status(const std::string& run_dir) {
  auto entries = read_pids_file(run_dir);
  if (!entries.is_ok()) fail("no stack in " + run_dir + " (" + entries.status().message() + ")");
  std::printf("%s", status_table(*entries).c_str());
  for (const auto& e : *entries)
    if (!pid_alive(e.pid)) throw CLI::RuntimeError(3);  // like `systemctl status`: 3 = not running
}

}  // namespace

void add_stack_command(CLI::App& app) {
  CLI::App* stack = app.add_subcommand("stack", "run the whole deployment locally");
  stack->require_subcommand(1);

  auto up_args = std::make_shared<UpArgs>();
  CLI::App* up = stack->add_subcommand(
      "up",
      "start PostgreSQL, two emulators (unless external URLs are given), the worker, two "
      "apis and HAProxy; return once GET /payments-summary answers 200 through HAProxy");
  up->add_option("--run-dir", up_args->run_dir, "logs, pids file, sockets, database")
      ->capture_default_str();
  up->add_option("--lb-port", up_args->lb_port, "HAProxy port on 127.0.0.1")->capture_default_str();
  up->add_option("--default-port", up_args->default_port,
                 "default emulator port (the official host port; 0 = any free)")
      ->capture_default_str();
  up->add_option("--fallback-port", up_args->fallback_port, "fallback emulator port")
      ->capture_default_str();
  up->add_option("--default-url", up_args->default_url, "external default processor URL");
  up->add_option("--fallback-url", up_args->fallback_url, "external fallback processor URL");
  up->add_option("--fees", up_args->fees, "emulator fees: preview (5%/15%) or final (7%/10%)")
      ->check(CLI::IsMember({"preview", "final"}))
      ->capture_default_str();
  up->add_option("--token", up_args->token, "emulators' admin token")->capture_default_str();
  up->add_option("--timeout", up_args->timeout_s, "seconds each part may take to become ready")
      ->capture_default_str();
  up->add_option("--rinhad", up_args->rinhad, "rinhad binary (default: next to rinhactl)");
  up->add_option("--rinhactl", up_args->rinhactl, "rinhactl binary for the emulators");
  up->add_option("--source-dir", up_args->source_dir,
                 "tree holding config/ and deploy/ (default: the one this was built from)");
  up->add_option(
        "--rinhad-arg", up_args->rinhad_args,
        "extra flag for every rinhad, repeatable, e.g. --rinhad-arg=--handoff.durability=none")
      ->allow_extra_args(false);
  up->add_flag("--limits", up_args->limits,
               "start postgres, worker, api1, api2 and haproxy each inside a cgroup with its "
               "service's deploy.resources.limits from the compose file (needs writable cgroups)");
  up->add_option("--compose", up_args->compose_file,
                 "compose file the limits come from (default: deploy/compose/docker-compose.yml)");
  up->add_option("--nodes", up_args->nodes,
                 "a cluster of N nodes (docs/scale-out.md): N workers (worker1..N, health.shared "
                 "on), each with two apis (node k: api<2k-1>, api<2k>), HAProxy over all 2N apis, "
                 "one PostgreSQL")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  up->add_option("--node-cpus", up_args->node_cpus,
                 "put each node's worker and apis in one cgroup with this CPU limit, e.g. 0.5 "
                 "(cores; needs writable cgroups; not with --limits)");
  up->callback([up_args] { run_up(*up_args); });

  auto run_dir = std::make_shared<std::string>("run/stack");
  auto grace = std::make_shared<int>(10);
  CLI::App* down = stack->add_subcommand("down", "stop what `up` started, newest first");
  down->add_option("--run-dir", *run_dir)->capture_default_str();
  down->add_option("--grace", *grace, "seconds before SIGKILL")->capture_default_str();
  down->callback([run_dir, grace] { run_down(*run_dir, *grace); });

  CLI::App* status = stack->add_subcommand(
      "status",
      "each process: pid, alive, memory; with --limits also each group's peak memory charged "
      "against its limit, CPU throttling and OOM kills");
  status->add_option("--run-dir", *run_dir)->capture_default_str();
  status->callback([run_dir] { run_status(*run_dir); });
}

}  // namespace rinha::stack
