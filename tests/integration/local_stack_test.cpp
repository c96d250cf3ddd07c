// The local stack's parts against real programs: PostgreSQL starts, answers and stops; HAProxy
// (deploy/haproxy/haproxy.cfg, the compose file's config) balances over two backends and
// health-checks them; the whole stack answers the contract through HAProxy and leaves no
// process behind.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "instrument/http/http_client.hpp"
#include "instrument/stack/cgroup.hpp"
#include "instrument/stack/components.hpp"
#include "instrument/stack/net.hpp"
#include "support/fixture.hpp"

using namespace rinha;
using namespace rinha::testsupport;
using namespace std::chrono_literals;

namespace {

http::HttpResponse send(const std::string& method, const std::string& url,
                        const std::string& body = "") {
  http::HttpRequest req;
  req.method = method;
  req.url = url;
  req.body = body;
  req.timeout = 5000ms;
  auto r = http::http_send(req);
  INFO(url << ": " << r.status().message());
  REQUIRE(r.is_ok());
  return r.value();
}

// A stand-in backend: HAProxy's noop.cfg answers the contract's routes by itself.
stack::Process start_noop_backend(const stack::TempDir& dir, int port) {
  auto loc = test_locations();
  auto spec = stack::haproxy_spec(loc, loc.source_dir + "/deploy/haproxy/noop.cfg",
                                  stack::loopback_address(port), "", "",
                                  dir.file("noop-" + std::to_string(port) + ".log"));
  spec.name = "noop";
  auto p = stack::Process::start(spec);
  REQUIRE(p.is_ok());
  REQUIRE(stack::wait_http_ok("http://127.0.0.1:" + std::to_string(port) + "/healthcheck", 10s)
              .is_ok());
  return std::move(p).value();
}

}  // namespace

TEST_CASE("PostgreSQL starts on a free port with the rinha database and stops cleanly") {
  pid_t pid;
  std::string data_dir;
  {
    stack::StackOptions o = test_options(Parts::postgres_only());
    o.pg_template_dir.clear();  // initdb itself (the other tests' fixtures copy a template)
    StackFixture f(o);
    stack::Postgres* pg = f.stack().postgres();
    REQUIRE(pg != nullptr);
    pid = pg->process().pid();
    data_dir = pg->data_dir();
    CHECK(f.stack().database_url() ==
          "postgresql://postgres@127.0.0.1:" + std::to_string(pg->port()) + "/rinha");
    auto db = pg->psql("select current_database()");
    REQUIRE(db.is_ok());
    CHECK(*db == "rinha");
    // The tuning of config/postgresql.conf is in force (the same file compose mounts).
    CHECK(*pg->psql("show fsync") == "off");
    CHECK(*pg->psql("show synchronous_commit") == "off");
    CHECK(*pg->psql("show autovacuum") == "off");  // set only by config/postgresql.conf
    auto listen = pg->psql("show listen_addresses");
    CHECK(*listen == "127.0.0.1");
    CHECK(
        pg->psql("create table t(x int); insert into t values (41); select x + 1 from t").value() ==
        "42");
    CHECK(std::filesystem::exists(f.dir().file("pids")));
  }
  CHECK_FALSE(stack::pid_alive(pid));
  CHECK_FALSE(std::filesystem::exists(data_dir));  // the temp dir went with the fixture
}

TEST_CASE("PostgreSQL from a template: initdb makes it once, each start gets a private copy") {
  const std::string prefix = "/tmp/rinha-pg-template-test-" + std::to_string(::getpid());
  const std::string tmpl = stack::pg_template_path(prefix);
  CHECK(tmpl != prefix);  // named after initdb's arguments too
  std::filesystem::remove_all(tmpl);
  stack::StackOptions o = test_options(Parts::postgres_only());
  o.pg_template_dir = prefix;
  {
    StackFixture a(o);
    REQUIRE(std::filesystem::exists(tmpl + "/PG_VERSION"));
    stack::Postgres* pg = a.stack().postgres();
    REQUIRE(pg != nullptr);
    CHECK(*pg->psql("show autovacuum") == "off");  // config/postgresql.conf applied to the copy
    CHECK(pg->psql("create table t(x int); insert into t values (1); select count(*) from t")
              .value() == "1");
  }
  const auto made = std::filesystem::last_write_time(tmpl + "/PG_VERSION");
  {
    StackFixture b(o);
    stack::Postgres* pg = b.stack().postgres();
    REQUIRE(pg != nullptr);
    // The template was not made again, and the first cluster's table is not in the copy.
    CHECK(std::filesystem::last_write_time(tmpl + "/PG_VERSION") == made);
    CHECK(*pg->psql("select count(*) from pg_tables where tablename = 't'") == "0");
  }
  std::filesystem::remove_all(tmpl);
  std::filesystem::remove(tmpl + ".lock");
}

TEST_CASE("PostgreSQL starts in a run dir under a 0700 parent (mktemp -d) when we are root") {
  if (geteuid() != 0) {
    WARN("not root: PostgreSQL runs as we are, the case does not arise");
    return;
  }
  stack::TempDir parent("rinha-0700-");
  REQUIRE(chmod(parent.path().c_str(), 0700) == 0);  // what mktemp -d makes
  stack::PostgresOptions po;
  po.base_dir = parent.file("stack");
  std::filesystem::create_directories(po.base_dir);
  po.conf_include = test_locations().postgres_config();
  auto pg = stack::Postgres::start(po);
  INFO(pg.status().message());
  REQUIRE(pg.is_ok());
  // The cluster lives where user postgres can reach it; the run dir links to it.
  const std::string link = po.base_dir + "/pg";
  REQUIRE(std::filesystem::is_symlink(link));
  const std::string cluster = std::filesystem::read_symlink(link).string();
  CHECK(pg->data_dir() == cluster + "/data");
  CHECK(*pg->psql("select current_database()") == "rinha");
  CHECK(*pg->psql("show autovacuum") == "off");  // config/postgresql.conf was applied
  pg.value().stop();
  // A second start in the same run dir replaces the first cluster, link target included.
  auto again = stack::Postgres::start(po);
  REQUIRE(again.is_ok());
  CHECK_FALSE(std::filesystem::exists(cluster));
  const std::string cluster2 = std::filesystem::read_symlink(link).string();
  again.value().stop();
  std::filesystem::remove_all(cluster2);
}

TEST_CASE("HAProxy with the deploy config balances over two backends and health-checks them") {
  stack::TempDir backends("rinha-noop-");
  const int p1 = stack::free_port();
  const int p2 = stack::free_port();
  stack::Process b1 = start_noop_backend(backends, p1);
  stack::Process b2 = start_noop_backend(backends, p2);

  stack::StackOptions o = test_options(Parts::haproxy_only());
  o.api1_address = stack::loopback_address(p1);
  o.api2_address = stack::loopback_address(p2);
  StackFixture f(o);
  const std::string lb = f.stack().lb_url();
  CHECK(lb != "http://127.0.0.1:9999");

  auto post = send("POST", lb + "/payments",
                   R"({"correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3","amount":19.90})");
  CHECK(post.status == 202);
  auto summary = send("GET", lb + "/payments-summary");
  CHECK(summary.status == 200);
  CHECK(nlohmann::json::parse(summary.body)["default"]["totalRequests"] == 0);

  // With one backend gone, HAProxy's checks (or its redispatch on a refused connect) keep
  // every request answered by the other.
  b1.stop();
  for (int i = 0; i < 20; ++i) CHECK(send("POST", lb + "/payments", "{}").status == 202);
  // With both gone, HAProxy says so instead of hanging past the client's 1.5 s.
  b2.stop();
  std::this_thread::sleep_for(100ms);
  auto down = send("POST", lb + "/payments", "{}");
  CHECK(down.status >= 500);
  CHECK(down.duration < 1500ms);
}

TEST_CASE("the emulators start on free ports with the fees of the chosen test shape") {
  stack::StackOptions o = test_options(Parts::emulators_only());
  o.fees = "final";
  StackFixture f(o);
  const std::pair<std::string, double> expected[] = {{f.stack().default_url(), 0.07},
                                                     {f.stack().fallback_url(), 0.10}};
  for (const auto& [url, fee] : expected) {
    http::HttpRequest req;
    req.url = url + "/admin/payments-summary";
    req.headers = {{"X-Rinha-Token", "123"}};
    auto r = http::http_send(req);
    REQUIRE(r.is_ok());
    CHECK(r->status == 200);
    auto j = nlohmann::json::parse(r->body);
    CHECK(j["totalRequests"] == 0);
    CHECK(j["feePerTransaction"].get<double>() == Approx(fee));
  }
}

TEST_CASE("the whole stack answers the contract through HAProxy and leaves nothing behind") {
  std::vector<pid_t> pids;
  {
    StackFixture f(Parts::whole());
    for (const auto& e : f.stack().entries()) pids.push_back(e.pid);
    REQUIRE(pids.size() == 7);  // postgres, 2 emulators, worker, 2 apis, haproxy
    const std::string lb = f.stack().lb_url();

    auto post = send("POST", lb + "/payments",
                     R"({"correlationId":"9b1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d","amount":19.90})");
    CHECK(post.status >= 200);
    CHECK(post.status < 300);

    // The summary's exact shape, and the payment lands on the (healthy, cheaper) default.
    nlohmann::json j;
    for (int i = 0; i < 100; ++i) {
      auto s = send("GET", lb + "/payments-summary");
      REQUIRE(s.status == 200);
      j = nlohmann::json::parse(s.body);
      if (j["default"]["totalRequests"] == 1) break;
      std::this_thread::sleep_for(50ms);
    }
    REQUIRE(j.size() == 2);
    for (const char* side : {"default", "fallback"}) {
      REQUIRE(j.contains(side));
      CHECK(j[side].size() == 2);
      CHECK(j[side]["totalRequests"].is_number_integer());
      CHECK(j[side]["totalAmount"].is_number());
    }
    CHECK(j["default"]["totalRequests"] == 1);
    CHECK(j["default"]["totalAmount"].get<double>() == Approx(19.90));
    CHECK(j["fallback"]["totalRequests"] == 0);
    CHECK(f.stack().check_alive().is_ok());
  }
  for (pid_t p : pids) CHECK_FALSE(stack::pid_alive(p));
}

TEST_CASE("rinhactl stack up detaches, status lists it, down stops exactly what up started") {
  stack::TempDir dir("rinha-cli-");
  const std::string run = dir.file("run");
  const int lb_port = stack::free_port();
  auto rinhactl = [&](std::vector<std::string> args, const std::string& log) {
    args.insert(args.begin(), RINHACTL_PATH);
    return stack::run_to_completion({"rinhactl", args, {}, dir.file(log), "", "", false}, 90s);
  };
  struct Guard {  // a failed CHECK must not leave the detached stack running
    std::string run;
    ~Guard() { (void)stack::stop_from_pids_file(run, 2s); }
  } guard{run};

  auto up = rinhactl(
      {"stack", "up", "--run-dir", run, "--lb-port", std::to_string(lb_port), "--default-port", "0",
       "--fallback-port", "0", "--fees", "final", "--timeout", "30"},
      "up.log");
  INFO(stack::tail_file(dir.file("up.log"), 40));
  REQUIRE(up.is_ok());
  REQUIRE(*up == 0);
  auto entries = stack::read_pids_file(run);
  REQUIRE(entries.is_ok());
  REQUIRE(entries->size() == 7);
  // rinhactl has exited; its children run on, each in its own session.
  for (const auto& e : *entries) {
    CHECK(stack::pid_alive(e.pid));
    CHECK(getsid(e.pid) == e.pid);
  }
  CHECK(send("GET", "http://127.0.0.1:" + std::to_string(lb_port) + "/payments-summary").status ==
        200);
  const std::string env = stack::tail_file(stack::env_file(run));
  CHECK(env.find("RINHA_LB_URL=http://127.0.0.1:" + std::to_string(lb_port) + "\n") !=
        std::string::npos);
  CHECK(env.find("RINHA_DEFAULT_URL=http://127.0.0.1:") != std::string::npos);
  auto status = rinhactl({"stack", "status", "--run-dir", run}, "status.log");
  CHECK(*status == 0);
  CHECK(stack::tail_file(dir.file("status.log")).find("haproxy") != std::string::npos);

  auto down = rinhactl({"stack", "down", "--run-dir", run}, "down.log");
  CHECK(*down == 0);
  for (const auto& e : *entries) CHECK_FALSE(stack::pid_alive(e.pid));
  CHECK_FALSE(std::filesystem::exists(stack::pids_file(run)));
  CHECK_FALSE(std::filesystem::exists(stack::env_file(run)));
  CHECK(*rinhactl({"stack", "status", "--run-dir", run}, "status2.log") != 0);
}

TEST_CASE("stack up --limits: each service starts inside a cgroup with its compose limits") {
  stack::TempDir dir("rinha-limits-");
  const std::string run = dir.file("run");
  struct Guard {
    std::string run;
    ~Guard() { (void)stack::stop_from_pids_file(run, 2s); }
  } guard{run};
  auto rinhactl = [&](std::vector<std::string> args, const std::string& log) {
    args.insert(args.begin(), RINHACTL_PATH);
    auto rc = stack::run_to_completion({"rinhactl", args, {}, dir.file(log), "", "", false}, 90s);
    INFO(stack::tail_file(dir.file(log), 40));
    REQUIRE(rc.is_ok());
    return *rc;
  };
  REQUIRE(rinhactl({"stack", "up", "--run-dir", run, "--lb-port", "0", "--default-port", "0",
                    "--fallback-port", "0", "--timeout", "30", "--limits"},
                   "up.log") == 0);
  const std::string up_log = stack::tail_file(dir.file("up.log"), 60);
  CHECK_THAT(up_log, Catch::Contains("quota/100ms"));  // the limits table

  auto limits = stack::compose_limits_file(std::string(RINHA_SOURCE_DIR) +
                                           "/deploy/compose/docker-compose.yml");
  REQUIRE(limits.is_ok());
  auto entries = stack::read_pids_file(run);
  REQUIRE(entries.is_ok());
  std::vector<std::pair<std::string, pid_t>> processes;
  int limited = 0;
  for (const auto& e : *entries) {
    INFO(e.name);
    processes.emplace_back(e.name, e.pid);
    auto u = stack::cgroup_usage_of(e.pid);
    auto l = limits->find(e.name);
    if (l == limits->end()) {  // the emulators stand for the processors: no budget of ours
      CHECK_FALSE(u.has_value());
      continue;
    }
    // The main process is in its group (it joined before exec), with the compose limits.
    REQUIRE(u.has_value());
    CHECK(u->memory_limit == l->second.memory_bytes);
    CHECK(u->cpu_quota_us == l->second.cpu_quota_us);
    CHECK(u->cpu_period_us == 100000);
    CHECK(u->memory_peak > 0);  // its memory was charged there
    CHECK(u->memory_peak < u->memory_limit);
    CHECK(u->oom_kills == 0);
    ++limited;
  }
  CHECK(limited == 5);
  // PostgreSQL's backends, forked later, are in the postmaster's group too.
  std::ifstream groups(stack::cgroups_file(run));
  std::vector<std::string> dirs;
  for (std::string d; std::getline(groups, d);) dirs.push_back(d);
  REQUIRE(dirs.size() >= 5);
  for (const auto& d : dirs) CHECK(std::filesystem::is_directory(d));
  REQUIRE_THAT(dirs[0], Catch::EndsWith("/postgres"));
  std::ifstream procs(dirs[0] + "/cgroup.procs");
  int in_group = 0;
  for (std::string pid; std::getline(procs, pid);) ++in_group;
  CHECK(in_group >= 4);  // postmaster, checkpointer, background writer, walwriter, ...
  CHECK(rinhactl({"stack", "status", "--run-dir", run}, "status.log") == 0);
  const std::string status = stack::tail_file(dir.file("status.log"), 40);
  CHECK_THAT(status, Catch::Contains("peak_MiB"));
  CHECK_THAT(status, Catch::Contains("throttled"));
  CHECK(stack::usage_table(processes).find("worker") != std::string::npos);

  REQUIRE(rinhactl({"stack", "down", "--run-dir", run}, "down.log") == 0);
  for (const auto& d : dirs) CHECK_FALSE(std::filesystem::exists(d));
  CHECK_FALSE(std::filesystem::exists(stack::cgroups_file(run)));
}
