// Process supervision: start/stop/reap, logs, exec errors, SIGKILL after the grace period,
// detached processes stopped by pid, free ports, temp dirs, the pids file; compose limits parsed
// into cgroup quotas and sizes.
#include "instrument/stack/stack.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "instrument/stack/cgroup.hpp"
#include "instrument/stack/net.hpp"
#include "instrument/stack/process.hpp"
#include "instrument/stack/temp_dir.hpp"

using namespace rinha::stack;
using namespace std::chrono_literals;

namespace {

ProcessSpec sh(const std::string& name, const std::string& script, const std::string& log) {
  return {name, {"/bin/sh", "-c", script}, {}, log, "", "", false};
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("a started process logs to its file, gets its env and is reaped with its status") {
  TempDir dir;
  ProcessSpec spec = sh("echo", "echo out; echo err >&2; echo $RINHA_X; exit 3", dir.file("l"));
  spec.env["RINHA_X"] = "from-spec";
  auto p = Process::start(spec);
  REQUIRE(p.is_ok());
  Process proc = std::move(p).value();
  REQUIRE(proc.wait_exit(5s));
  CHECK(proc.exit_description() == "exit 3");
  CHECK(slurp(dir.file("l")) == "out\nerr\nfrom-spec\n");
}

TEST_CASE("a program that cannot be executed fails at start, not later") {
  auto missing = Process::start({"x", {"/nonexistent/prog"}, {}, "", "", "", false});
  CHECK_FALSE(missing.is_ok());
  CHECK(missing.status().message().find("/nonexistent/prog") != std::string::npos);
}

TEST_CASE("stop sends SIGTERM to the whole group and SIGKILLs what ignores it") {
  TempDir dir;
  // The shell ignores TERM; its child sleep is in the same group.
  auto p =
      Process::start(sh("stubborn", "trap '' TERM; sleep 30 & echo ready; wait", dir.file("l")));
  REQUIRE(p.is_ok());
  Process proc = std::move(p).value();
  const pid_t pid = proc.pid();
  for (int i = 0; i < 500 && slurp(dir.file("l")).empty(); ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(slurp(dir.file("l")) == "ready\n");
  CHECK(proc.alive());
  const auto t0 = std::chrono::steady_clock::now();
  proc.stop(300ms);
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
  CHECK_FALSE(pid_alive(pid));
  // No member of the group is left (the orphaned sleep is reaped by init, give it a moment).
  for (int i = 0; i < 200 && kill(-pid, 0) == 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(kill(-pid, 0) != 0);
}

TEST_CASE("a process that exits on SIGTERM stops within the grace period") {
  auto p = Process::start({"sleep", {"/bin/sleep", "30"}, {}, "", "", "", false});
  REQUIRE(p.is_ok());
  Process proc = std::move(p).value();
  const auto t0 = std::chrono::steady_clock::now();
  proc.stop(10s);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(proc.pid() == -1);
}

TEST_CASE("the destructor stops the child") {
  pid_t pid;
  {
    auto p = Process::start({"sleep", {"/bin/sleep", "30"}, {}, "", "", "", false});
    REQUIRE(p.is_ok());
    pid = p->pid();
    Process moved = std::move(p).value();
    CHECK(moved.pid() == pid);
  }
  CHECK_FALSE(pid_alive(pid));
}

TEST_CASE("a released process in its own session keeps running and stop_pid ends it") {
  ProcessSpec spec{"detached", {"/bin/sleep", "30"}, {}, "", "", "", true};
  auto p = Process::start(spec);
  REQUIRE(p.is_ok());
  Process proc = std::move(p).value();
  const pid_t pid = proc.release();
  CHECK(getsid(pid) == pid);
  { Process gone = std::move(proc); }  // destroying a released handle must not stop it
  CHECK(pid_alive(pid));
  CHECK(rss_kib(pid).value_or(0) > 0);
  auto mem = tree_memory(pid);
  REQUIRE(mem.has_value());
  CHECK(mem->processes == 1);
  CHECK(mem->cpu_seconds >= 0);
  CHECK(stop_pid(pid, 5s));
  CHECK_FALSE(pid_alive(pid));
  CHECK_FALSE(rss_kib(pid).has_value());
}

TEST_CASE("run_to_completion returns the exit code and kills what overruns") {
  auto rc = run_to_completion({"true", {"/bin/true"}, {}, "", "", "", false}, 5s);
  REQUIRE(rc.is_ok());
  CHECK(*rc == 0);
  auto slow = run_to_completion({"sleep", {"/bin/sleep", "30"}, {}, "", "", "", false}, 200ms);
  CHECK(slow.status().code() == rinha::Status::Code::kTimeout);
}

TEST_CASE("free_port gives a bindable loopback port") {
  const int port = free_port();
  REQUIRE(port > 0);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  CHECK(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  close(fd);
  CHECK(loopback_address(port) == "127.0.0.1:" + std::to_string(port));
}

TEST_CASE("TempDir removes its tree unless kept") {
  std::string path;
  {
    TempDir d("rinha-unit-");
    path = d.path();
    std::filesystem::create_directories(d.file("a/b"));
    std::ofstream(d.file("a/b/c")) << "x";
  }
  CHECK_FALSE(std::filesystem::exists(path));
  {
    TempDir d("rinha-unit-");
    path = d.path();
    d.keep();
  }
  CHECK(std::filesystem::exists(path));
  std::filesystem::remove_all(path);
}

TEST_CASE("tail_file keeps the last lines") {
  TempDir dir;
  std::ofstream(dir.file("log")) << "1\n2\n3\n4\n";
  CHECK(tail_file(dir.file("log"), 2) == "3\n4");
  CHECK(tail_file(dir.file("log"), 10) == "1\n2\n3\n4");
  CHECK(tail_file(dir.file("missing")).empty());
}

TEST_CASE("the pids file of an empty stack lists nothing and down is a no-op") {
  TempDir dir;
  CHECK_FALSE(read_pids_file(dir.path()).is_ok());
  CHECK(stop_from_pids_file(dir.path(), 1s).is_ok());
  std::ofstream(pids_file(dir.path())) << "postgres 999999 2 0 /x/postgres.log\n"
                                       << "api1 999998 15 1 /x/api 1.log\n";
  auto e = read_pids_file(dir.path());
  REQUIRE(e.is_ok());
  REQUIRE(e->size() == 2);
  CHECK((*e)[0].name == "postgres");
  CHECK((*e)[0].stop_signal == SIGINT);
  CHECK_FALSE((*e)[0].group);
  CHECK((*e)[1].log_path == "/x/api 1.log");
  // Neither pid exists: both count as stopped and the file goes.
  CHECK(stop_from_pids_file(dir.path(), 1s).is_ok());
  CHECK_FALSE(std::filesystem::exists(pids_file(dir.path())));
}

TEST_CASE("stack up refuses a cluster it cannot build, before starting anything") {
  TempDir dir("rinha-nodes-");
  StackOptions opts;
  opts.run_dir = dir.file("run");
  opts.nodes = 0;
  auto none = Stack::up(opts);
  REQUIRE_FALSE(none.is_ok());
  CHECK_THAT(none.status().message(), Catch::Contains("nodes"));

  opts.nodes = 2;
  opts.limits = true;  // per compose service: a single node's
  auto both = Stack::up(opts);
  REQUIRE_FALSE(both.is_ok());
  CHECK_THAT(both.status().message(), Catch::Contains("limits"));
  CHECK_FALSE(std::filesystem::exists(opts.run_dir));
}

TEST_CASE("a cluster's HAProxy config: the deploy file's settings, one server line per api") {
  std::ifstream in(std::string(RINHA_SOURCE_DIR) + "/deploy/haproxy/haproxy.cfg");
  std::stringstream text;
  text << in.rdbuf();
  const std::string deploy = text.str();
  auto cfg = haproxy_config_for_apis(deploy, 4);
  REQUIRE(cfg.is_ok());
  for (int k = 1; k <= 4; ++k) {
    const std::string n = std::to_string(k);
    CHECK_THAT(*cfg, Catch::Contains("    server api" + n + " \"${RINHA_API" + n + "}\"\n"));
  }
  CHECK_THAT(*cfg, !Catch::Contains("server api5"));
  CHECK_THAT(*cfg, !Catch::Contains("RINHA_API1-api1:8080"));  // no compose default left
  // Everything but the server lines is the deploy file's, in order.
  auto without_servers = [](const std::string& t) {
    std::istringstream lines(t);
    std::string out;
    for (std::string l; std::getline(lines, l);)
      if (l.find("server api") == std::string::npos) out += l + "\n";
    return out;
  };
  CHECK(without_servers(*cfg) == without_servers(deploy));
  CHECK_THAT(*cfg, Catch::Contains("balance leastconn\n"));

  auto bad = haproxy_config_for_apis("frontend x\n  default_backend y\n", 2);
  REQUIRE_FALSE(bad.is_ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("server api"));
}

TEST_CASE("the emulator fees follow the official test shapes") {
  CHECK(fees_for("preview")->default_fee == "0.05");
  CHECK(fees_for("preview")->fallback_fee == "0.15");
  CHECK(fees_for("final")->default_fee == "0.07");
  CHECK(fees_for("final")->fallback_fee == "0.10");
  CHECK_FALSE(fees_for("other").is_ok());
}

TEST_CASE("compose limits: cpus to a CFS quota and sizes to bytes, exactly, as Docker reads them") {
  CHECK(*cpu_quota_us("0.25") == 25000);
  CHECK(*cpu_quota_us("0.55") == 55000);
  CHECK(*cpu_quota_us("1.5") == 150000);
  CHECK(*cpu_quota_us("2") == 200000);
  CHECK(*cpu_quota_us("0.125") == 12500);
  CHECK(*cpu_quota_us("0.25", 50000) == 12500);
  for (const char* bad : {"", "0", "0.0", "-1", "1e-1", ".5", "0.2500", "abc", "1,5"}) {
    INFO(bad);
    CHECK_FALSE(cpu_quota_us(bad).is_ok());
  }
  CHECK(*memory_bytes("40MB") == 40LL << 20);
  CHECK(*memory_bytes("110MB") == 110LL << 20);
  CHECK(*memory_bytes("40m") == 40LL << 20);
  CHECK(*memory_bytes("512k") == 512LL << 10);
  CHECK(*memory_bytes("1g") == 1LL << 30);
  CHECK(*memory_bytes("1GB") == 1LL << 30);
  CHECK(*memory_bytes("1048576") == 1048576);
  for (const char* bad : {"", "0", "0MB", "40MiB", "40 XB", "-40MB", "40.5MB", "MB"}) {
    INFO(bad);
    CHECK_FALSE(memory_bytes(bad).is_ok());
  }
}

TEST_CASE("compose limits: every service's, merge keys resolved - a service without is an error") {
  const std::string yaml = R"(
x-base: &base
  image: x
services:
  api1: &api
    <<: *base
    deploy: {resources: {limits: {cpus: "0.25", memory: "40MB"}}}
  api2:
    <<: *api
    command: [--other]
  db:
    deploy:
      resources:
        limits:
          cpus: "0.5"
          memory: "100MB"
)";
  auto l = compose_limits(yaml);
  REQUIRE(l.is_ok());
  REQUIRE(l->size() == 3);
  CHECK(l->at("api2").cpu_quota_us == 25000);  // inherited through <<: *api
  CHECK(l->at("api2").memory_bytes == 40LL << 20);
  CHECK(l->at("db").cpu_quota_us == 50000);
  CHECK(l->at("db").cpu_period_us == 100000);
  auto missing = compose_limits("services:\n  a:\n    image: x\n");
  REQUIRE_FALSE(missing.is_ok());
  CHECK_THAT(missing.status().message(), Catch::Contains("a lacks"));
  CHECK_FALSE(compose_limits("services: [").is_ok());
  auto bad =
      compose_limits("services:\n  a:\n    deploy: {resources: {limits: {cpus: x, memory: 1m}}}\n");
  REQUIRE_FALSE(bad.is_ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("a: cpus"));

  // The real compose file: the contest's budget, the same numbers tests/integration/deploy_test
  // checks, now as the cgroups will carry them.
  auto real =
      compose_limits_file(std::string(RINHA_SOURCE_DIR) + "/deploy/compose/docker-compose.yml");
  REQUIRE(real.is_ok());
  int64_t quota = 0, bytes = 0;
  for (const auto& [name, lim] : *real) {
    quota += lim.cpu_quota_us;
    bytes += lim.memory_bytes;
  }
  CHECK(quota <= 150000);
  CHECK(bytes <= 350LL << 20);
  const std::string table = limits_table(*real);
  CHECK_THAT(table, Catch::Contains("worker"));
  CHECK_THAT(table, Catch::Contains("total"));
}
