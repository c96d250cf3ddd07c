// The submission in real containers (podman, no registry): scripts/container-run.sh builds every
// image (cached between runs) and starts deploy/compose/docker-compose.yml with podman-compose,
// the processor emulators running as containers on the external `payment-processor` network.
// Then, only through the ports published on 127.0.0.1: the official readiness gate, ~200
// payments whose totals equal the processors', bad input changing nothing, the purge, the
// per-service cgroup table (no OOM kill, no restart), and `down` leaving no container, network
// or volume. It fails, never skips, when podman is missing: scripts/install-deps.sh installs it.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "instrument/http/http_client.hpp"
#include "instrument/stack/net.hpp"
#include "instrument/stack/process.hpp"
#include "instrument/stack/temp_dir.hpp"
#include "support/books.hpp"
#include "support/traffic.hpp"

using namespace rinha;
using namespace rinha::testsupport;
using namespace std::chrono_literals;

namespace {

const std::string kSrc = RINHA_SOURCE_DIR;
const std::string kContainersConf = kSrc + "/deploy/containers/containers.conf";

// Runs a command to completion with its output in dir/log; returns the exit code (the log's
// tail goes into the failure message).
int run(const stack::TempDir& dir, const std::string& log, std::vector<std::string> argv,
        std::map<std::string, std::string> env, std::chrono::seconds timeout) {
  env["CONTAINERS_CONF"] = kContainersConf;
  auto rc = stack::run_to_completion({argv[0], argv, env, dir.file(log), "", kSrc, false}, timeout);
  INFO(stack::tail_file(dir.file(log), 40));
  REQUIRE(rc.is_ok());
  return *rc;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// KEY=VALUE lines.
std::map<std::string, std::string> read_env(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

http::HttpResponse call(const std::string& method, const std::string& url,
                        const std::string& body = "") {
  auto resp = http::http_send(request(method, url, body));
  INFO(method << " " << url << ": " << resp.status().message());
  REQUIRE(resp.is_ok());
  return *resp;
}

}  // namespace

TEST_CASE("containers: the compose file runs the contract with the emulators, then goes away") {
  for (const char* tool : {"/usr/bin/podman", "/usr/bin/podman-compose", "/usr/bin/mmdebstrap"}) {
    INFO(tool << " is missing: scripts/install-deps.sh installs the container tooling");
    REQUIRE(std::filesystem::exists(tool));
  }
  stack::TempDir dir("rinha-containers-");
  const std::string script = kSrc + "/scripts/container-run.sh";
  const std::map<std::string, std::string> env = {
      {"RUN_DIR", dir.file("run")},
      {"RINHACTL", RINHACTL_PATH},
      {"PROFILE", "preview"},
      {"LB_PORT", std::to_string(stack::free_port())},
      {"EMU_PORTS", std::to_string(stack::free_port()) + " " + std::to_string(stack::free_port())},
      // The budget's headroom is judged by full runs (scripts/container-run.sh); here a service
      // only fails by dying, restarting or being OOM-killed.
      {"HEADROOM_PCT", "100"}};
  struct Down {  // whatever happens below, nothing stays up
    const stack::TempDir& dir;
    const std::string& script;
    const std::map<std::string, std::string>& env;
    ~Down() {
      std::map<std::string, std::string> e = env;
      e["CONTAINERS_CONF"] = kContainersConf;
      (void)stack::run_to_completion(
          {"bash", {"/bin/bash", script, "down"}, e, dir.file("down.log"), "", kSrc, false}, 120s);
    }
  } down{dir, script, env};

  // A run interrupted earlier may have left this project's volume behind; `down` clears it first
  // so that the snapshot holds only what is not ours (the check below wants it kept).
  (void)run(dir, "down-before.log", {"/bin/bash", script, "down"}, env, 120s);
  const std::string list_volumes = "podman volume ls -q | sort";
  REQUIRE(run(dir, "volumes-before.log", {"/bin/sh", "-c", list_volumes}, {}, 60s) == 0);

  // Build (cached) and start; `up` returns once GET /payments-summary answered 200 through
  // the published port, as the official runner's gate asks.
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(run(dir, "up.log", {"/bin/bash", script, "up"}, env, 1500s) == 0);
  std::printf("containers: images built and compose up in %.0f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  auto urls = read_env(dir.file("run/containers.env"));
  REQUIRE(urls.count("LB_URL") == 1);
  const Endpoints ep{urls["LB_URL"], urls["DEFAULT_URL"], urls["FALLBACK_URL"]};
  for (const auto& [k, url] : urls) CHECK(url.rfind("http://127.0.0.1:", 0) == 0);

  auto empty = call("GET", ep.api + "/payments-summary");
  CHECK(empty.status == 200);
  CHECK_THAT(empty.body, Catch::Contains("\"totalRequests\":0"));

  // ~200 payments through HAProxy, then our totals equal the processors'.
  PaymentTraffic traffic(ep.api, 100, 4);
  for (int i = 0; i < 100 && traffic.accepted() + traffic.refused() < 200; ++i)
    std::this_thread::sleep_for(50ms);
  traffic.stop();
  auto sent = traffic.sent();
  std::printf("containers: %zu payments sent, %lld accepted\n", sent.size(),
              static_cast<long long>(traffic.accepted()));
  CHECK(sent.size() >= 190);
  CHECK(traffic.refused() == 0);
  auto settled = wait_settled(ep, traffic.accepted(), 30s);
  REQUIRE(settled.is_ok());
  INFO(*settled);
  CHECK(settled->processor_requests() == traffic.accepted());
  auto audit = audit_payments(sent, ep);
  REQUIRE(audit.is_ok());
  INFO(*audit);
  check_books(*audit, *settled, traffic.accepted());

  // Bad input: the documented 4xx with a JSON error, and nothing recorded.
  uint64_t seed = 0xc0ffee;
  const std::string id = random_uuid(seed);
  struct Bad {
    std::string method, path, body;
    long status;
  };
  for (const auto& b : std::vector<Bad>{
           {"POST", "/payments", "{\"correlationId\":\"" + id + "\",\"amount\":", 400},
           {"POST", "/payments", "{\"correlationId\":\"" + id + "\",\"amount\":-1}", 422},
           {"POST", "/payments", "{\"correlationId\":\"nope\",\"amount\":1}", 422},
           {"GET", "/payments-summary?from=yesterday", "", 400},
           {"GET", "/metrics", "", 404},
           {"GET", "/healthcheck", "", 404}}) {
    auto r = call(b.method, ep.api + b.path, b.body);
    INFO(b.method << " " << b.path << " " << b.body << " -> " << r.status << " " << r.body);
    CHECK(r.status == b.status);
    CHECK_THAT(r.body, Catch::Contains("\"error\""));
  }
  auto after_bad = wait_settled(ep, traffic.accepted(), 10s);
  REQUIRE(after_bad.is_ok());
  CHECK(after_bad->consistent());
  CHECK(after_bad->processor_requests() == traffic.accepted());

  // Every service is up, was never restarted nor OOM-killed (the table is in stats.log).
  CHECK(run(dir, "stats.log", {"/bin/bash", script, "stats"}, env, 60s) == 0);
  std::printf("%s", slurp(dir.file("stats.log")).c_str());

  // Purge: our totals go to zero.
  CHECK(call("POST", ep.api + "/purge-payments").status == 200);
  auto purged = call("GET", ep.api + "/payments-summary");
  CHECK(purged.status == 200);
  CHECK_THAT(purged.body, Catch::Contains("\"default\":{\"totalRequests\":0"));
  CHECK_THAT(purged.body, Catch::Contains("\"fallback\":{\"totalRequests\":0"));

  // Down: nothing of the run is left in podman.
  REQUIRE(run(dir, "down-now.log", {"/bin/bash", script, "down"}, env, 180s) == 0);
  REQUIRE(run(dir, "left.log",
              {"/bin/sh", "-c",
               "podman ps -aq --filter label=io.podman.compose.project=rinha-ct; "
               "podman ps -aq --filter name=payment-processor; "
               "podman network ls -q --filter name=payment-processor; "
               "podman network ls -q --filter label=io.podman.compose.project=rinha-ct"},
              {}, 60s) == 0);
  INFO(slurp(dir.file("left.log")));
  CHECK(slurp(dir.file("left.log")).empty());
  REQUIRE(run(dir, "volumes-after.log", {"/bin/sh", "-c", list_volumes}, {}, 60s) == 0);
  CHECK(slurp(dir.file("volumes-after.log")) == slurp(dir.file("volumes-before.log")));
}
