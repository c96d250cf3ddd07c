// The local stack's parts against real programs: PostgreSQL starts, answers and stops; HAProxy
// (deploy/haproxy/haproxy.cfg, the compose file's config) balances over two backends and
// health-checks them; the whole stack answers the contract through HAProxy and leaves no
// process behind.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "http/http_client.hpp"
#include "stack/components.hpp"
#include "stack/net.hpp"
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
    StackFixture f(Parts::postgres_only());
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
    CHECK(pg->psql("create table t(x int); insert into t values (41); select x + 1 from t")
              .value() == "42");
    CHECK(std::filesystem::exists(f.dir().file("pids")));
  }
  CHECK_FALSE(stack::pid_alive(pid));
  CHECK_FALSE(std::filesystem::exists(data_dir));  // the temp dir went with the fixture
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
