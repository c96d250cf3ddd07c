// The deployment files obey the contest rules and agree with each other: compose limits sum to
// <= 1.5 CPU / 350MB, no forbidden keys, docker-compose accepts the file, HAProxy accepts its
// configs, the Dockerfile builds with packages scripts/install-deps.sh installs, info.json has
// the keys the submission check wants.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "instrument/stack/cgroup.hpp"
#include "instrument/stack/process.hpp"
#include "instrument/stack/temp_dir.hpp"
#include "support/fixture.hpp"

using namespace rinha;
using namespace std::chrono_literals;

namespace {

const std::string kSrc = RINHA_SOURCE_DIR;
const std::string kCompose = kSrc + "/deploy/compose/docker-compose.yml";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// "0.25" -> 25 (hundredths of a CPU); exact, no floating point sums.
int centi_cpus(const std::string& text) {
  std::smatch m;
  REQUIRE(std::regex_match(text, m, std::regex(R"((\d+)(?:\.(\d{1,2}))?)")));
  std::string frac = m[2].str();
  frac.resize(2, '0');
  return std::stoi(m[1].str()) * 100 + std::stoi(frac);
}

// "40MB" -> 40. The contest README asks for the MB unit; anything else is a mistake here.
int megabytes(const std::string& text) {
  std::smatch m;
  INFO("memory limit " << text);
  REQUIRE(std::regex_match(text, m, std::regex(R"((\d+)MB)")));
  return std::stoi(m[1].str());
}

// A compose file with every service's merge keys resolved.
YAML::Node load_compose(const std::string& path = kCompose) {
  YAML::Node doc = YAML::LoadFile(path);
  for (auto kv : doc["services"])
    doc["services"][kv.first.as<std::string>()] = stack::resolve_merge_keys(kv.second);
  return doc;
}

bool mentions(const YAML::Node& seq, const std::string& value) {
  for (const auto& n : seq)
    if (n.as<std::string>() == value) return true;
  return false;
}

// Every bind mount's source (relative to the compose file's dir) exists.
void check_mounts_exist(const YAML::Node& doc, const std::string& compose_dir) {
  int mounts = 0;
  for (const auto& kv : doc["services"]) {
    for (const auto& v : kv.second["volumes"]) {
      const std::string spec = v.as<std::string>();
      if (spec.rfind(".", 0) != 0) continue;  // named volume
      const std::string source = spec.substr(0, spec.find(':'));
      INFO(kv.first.as<std::string>() << " mounts " << source);
      CHECK(std::filesystem::exists(compose_dir + source));
      ++mounts;
    }
  }
  CHECK(mounts >= 6);  // rinhad.yaml x3, haproxy.cfg, postgresql.conf, sql
}

int run(std::vector<std::string> argv, std::map<std::string, std::string> env,
        const stack::TempDir& dir, const std::string& log) {
  auto rc = stack::run_to_completion({argv[0], argv, env, dir.file(log), "", "", false}, 60s);
  INFO(stack::tail_file(dir.file(log), 30));
  REQUIRE(rc.is_ok());
  return *rc;
}

}  // namespace

TEST_CASE("compose: every service is limited, the sums fit 1.5 CPU / 350MB, nothing forbidden") {
  YAML::Node doc = load_compose();
  REQUIRE(doc["services"].IsMap());
  int cpus = 0;
  int mb = 0;
  std::set<std::string> names;
  for (const auto& kv : doc["services"]) {
    const std::string name = kv.first.as<std::string>();
    const YAML::Node svc = kv.second;
    names.insert(name);
    INFO("service " << name);
    const YAML::Node limits = svc["deploy"]["resources"]["limits"];
    REQUIRE(limits["cpus"]);
    REQUIRE(limits["memory"]);
    cpus += centi_cpus(limits["cpus"].as<std::string>());
    mb += megabytes(limits["memory"].as<std::string>());
    CHECK_FALSE(svc["privileged"]);
    CHECK_FALSE(svc["deploy"]["replicas"]);
    CHECK_FALSE(svc["network_mode"]);
    CHECK_FALSE(svc["scale"]);
  }
  CHECK(cpus <= 150);
  CHECK(mb <= 350);
  CHECK(names == std::set<std::string>{"haproxy", "api1", "api2", "worker", "postgres"});

  // Only HAProxy is reachable from the host, on 9999.
  CHECK(mentions(doc["services"]["haproxy"]["ports"], "9999:9999"));
  for (const char* s : {"api1", "api2", "worker", "postgres"})
    CHECK_FALSE(doc["services"][s]["ports"]);

  // Bridge networks; the processors' network is external and the worker is on it.
  for (const auto& kv : doc["networks"]) {
    const YAML::Node net = kv.second;
    if (kv.first.as<std::string>() == "payment-processor") {
      CHECK(net["external"].as<bool>());
    } else {
      CHECK(net["driver"].as<std::string>() == "bridge");
    }
  }
  const YAML::Node worker = doc["services"]["worker"];
  CHECK(mentions(worker["networks"], "payment-processor"));
  CHECK(mentions(worker["command"],
                 "--processors.default.url=http://payment-processor-default:8080"));
  CHECK(mentions(worker["command"],
                 "--processors.fallback.url=http://payment-processor-fallback:8080"));
}

TEST_CASE("compose: HAProxy, apis and worker agree on addresses - mounted files exist") {
  YAML::Node doc = load_compose();
  const YAML::Node svcs = doc["services"];
  const YAML::Node env = svcs["haproxy"]["environment"];
  CHECK(env["RINHA_API1"].as<std::string>() == "api1:8080");
  CHECK(env["RINHA_API2"].as<std::string>() == "api2:8080");
  CHECK(env["RINHA_LB_BIND"].as<std::string>() == ":9999");
  std::string worker_listen;
  for (const auto& a : svcs["worker"]["command"]) {
    auto s = a.as<std::string>();
    if (s.rfind("--worker.listen=", 0) == 0) worker_listen = s;
  }
  REQUIRE_FALSE(worker_listen.empty());
  for (const char* api : {"api1", "api2"}) {
    INFO(api);
    CHECK(mentions(svcs[api]["command"], "--mode=api"));
    CHECK(mentions(svcs[api]["command"], "--api.listen=0.0.0.0:8080"));
    CHECK(mentions(svcs[api]["command"], worker_listen));  // the same socket path
  }
  CHECK(mentions(svcs["worker"]["command"], "--mode=worker"));

  check_mounts_exist(doc, kSrc + "/deploy/compose/");
}

TEST_CASE("compose: docker-compose config accepts the file") {
  const std::string dc = "/usr/bin/docker-compose";
  INFO(dc << " is missing: scripts/install-deps.sh installs it");
  REQUIRE(std::filesystem::exists(dc));
  stack::TempDir dir("rinha-deploy-");
  CHECK(run({dc, "-f", kCompose, "config", "--quiet"}, {}, dir, "compose.log") == 0);
}

TEST_CASE("haproxy -c accepts haproxy.cfg and noop.cfg with the compose environment") {
  stack::TempDir dir("rinha-deploy-");
  const std::map<std::string, std::string> env = {{"RINHA_LB_BIND", "127.0.0.1:1"},
                                                  {"RINHA_API1", "127.0.0.1:2"},
                                                  {"RINHA_API2", "127.0.0.1:3"}};
  for (const char* cfg : {"haproxy.cfg", "noop.cfg"}) {
    INFO(cfg);
    CHECK(run({"/usr/sbin/haproxy", "-c", "-f", kSrc + "/deploy/haproxy/" + cfg}, env, dir,
              std::string(cfg) + ".log") == 0);
  }
  // A syntax error is caught by the same check (it would be a bad test otherwise).
  std::ofstream(dir.file("bad.cfg")) << "frontend f\n    bind :1\n    balance nonsense\n";
  CHECK(run({"/usr/sbin/haproxy", "-c", "-f", dir.file("bad.cfg")}, env, dir, "bad.log") != 0);
}

TEST_CASE("Dockerfile builds from packages that scripts/install-deps.sh installs") {
  const std::string install = slurp(kSrc + "/scripts/install-deps.sh");
  const std::string docker = slurp(kSrc + "/Dockerfile");
  // Packages of the build stage: the first apt-get install, up to its '&&'.
  const auto from = docker.find("--no-install-recommends");
  REQUIRE(from != std::string::npos);
  const std::string pkgs = docker.substr(from, docker.find("&&", from) - from);
  std::istringstream words(pkgs);
  std::string w;
  int checked = 0;
  while (words >> w) {
    if (w == "\\" || w.rfind("--", 0) == 0) continue;
    INFO("build package " << w);
    CHECK(std::regex_search(install, std::regex("[ (]" + w + "[ )\n]")));
    ++checked;
  }
  CHECK(checked >= 10);
  CHECK(docker.find("FROM --platform=linux/amd64 debian:12 AS build") != std::string::npos);
  CHECK(docker.find("--target rinhad") != std::string::npos);
  // The image builds without tests/, so that a test-only change leaves its layers cached.
  CHECK(docker.find("-DRINHA_TESTS=OFF") != std::string::npos);
  CHECK(docker.find("COPY tests") == std::string::npos);
}

TEST_CASE("info.json has every key the submission check wants") {
  auto j = nlohmann::json::parse(slurp(kSrc + "/info.json"));
  CHECK(j["name"].is_string());
  CHECK(j["source-code-repo"].is_string());
  for (const char* k :
       {"social", "langs", "storages", "messaging", "load-balancers", "other-technologies"}) {
    INFO(k);
    CHECK(j[k].is_array());
  }
}

TEST_CASE("the submission package is self-contained: its compose mounts its own copies") {
  stack::TempDir dir("rinha-package-");
  const std::string out = dir.file("participant");
  REQUIRE(run({"/bin/bash", kSrc + "/scripts/package-submission.sh", out},
              {{"RINHA_IMAGE", "someone/rinha:test"}}, dir, "package.log") == 0);
  const std::string compose = slurp(out + "/docker-compose.yml");
  CHECK(compose.find("build:") == std::string::npos);  // the runner pulls, never builds
  CHECK(compose.find("../") == std::string::npos);
  YAML::Node doc = load_compose(out + "/docker-compose.yml");
  for (const char* s : {"api1", "api2", "worker"})
    CHECK(doc["services"][s]["image"].as<std::string>() == "someone/rinha:test");
  check_mounts_exist(doc, out + "/");
  CHECK(std::filesystem::exists(out + "/info.json"));
  CHECK(std::filesystem::exists(out + "/README.md"));
  REQUIRE(std::filesystem::exists("/usr/bin/docker-compose"));
  CHECK(run({"/usr/bin/docker-compose", "-f", out + "/docker-compose.yml", "config", "--quiet"}, {},
            dir, "compose.log") == 0);
  // Without a public image name there is nothing to submit.
  CHECK(run({"/bin/bash", kSrc + "/scripts/package-submission.sh", dir.file("x")},
            {{"RINHA_IMAGE", ""}}, dir, "noimage.log") != 0);
}
