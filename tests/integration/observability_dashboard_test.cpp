// deploy/observability against a real stack: every metric the Grafana dashboard queries is one
// that the api or the worker actually serves on /metrics, the Prometheus config scrapes both
// roles' /metrics, and the compose override adds only the worker's metrics listener to the
// worker command of deploy/compose/docker-compose.yml.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "instrument/http/http_client.hpp"
#include "support/fixture.hpp"

using namespace rinha;
using namespace rinha::testsupport;
using namespace std::chrono_literals;

namespace {

const std::string kDir = std::string(RINHA_SOURCE_DIR) + "/deploy/observability/";

std::set<std::string> served_names(const std::string& url) {
  http::HttpRequest r;
  r.url = url;
  r.timeout = 5000ms;
  auto resp = http::http_send(r);
  INFO(url);
  REQUIRE(resp.is_ok());
  REQUIRE(resp->status == 200);
  std::set<std::string> names;
  std::istringstream in(resp->body);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') names.insert(line.substr(0, line.find_first_of("{ ")));
  return names;
}

}  // namespace

TEST_CASE("the dashboard queries only metrics that both roles serve") {
  StackFixture fx(Parts::whole());
  std::set<std::string> served = served_names(fx.stack().worker_metrics_url());
  for (const auto& n : served_names(fx.stack().api_url(0) + "/metrics")) served.insert(n);

  std::ifstream in(kDir + "grafana/rinha-dashboard.json");
  auto dashboard = nlohmann::json::parse(in);
  std::set<std::string> queried;
  std::regex name("rinha_[a-z_]+");
  for (const auto& panel : dashboard["panels"])
    for (const auto& target : panel["targets"]) {
      const std::string expr = target["expr"];
      for (auto it = std::sregex_iterator(expr.begin(), expr.end(), name);
           it != std::sregex_iterator(); ++it)
        queried.insert(it->str());
    }
  CHECK(queried.size() >= 15);
  for (const auto& q : queried) {
    INFO(q);
    CHECK(served.count(q) == 1);
  }
}

TEST_CASE("Prometheus scrapes both roles and the override only adds the metrics listener") {
  YAML::Node prom = YAML::LoadFile(kDir + "prometheus.yml");
  std::set<std::string> jobs;
  for (const auto& job : prom["scrape_configs"]) {
    CHECK(job["metrics_path"].as<std::string>() == "/metrics");
    CHECK(job["static_configs"][0]["targets"].size() >= 1);
    jobs.insert(job["job_name"].as<std::string>());
  }
  CHECK(jobs == std::set<std::string>{"rinha-api", "rinha-worker"});

  YAML::Node base =
      YAML::LoadFile(std::string(RINHA_SOURCE_DIR) + "/deploy/compose/docker-compose.yml");
  YAML::Node over = YAML::LoadFile(kDir + "docker-compose.observability.yml");
  auto base_cmd = base["services"]["worker"]["command"].as<std::vector<std::string>>();
  auto over_cmd = over["services"]["worker"]["command"].as<std::vector<std::string>>();
  base_cmd.push_back("--worker.metrics_listen=0.0.0.0:9100");
  CHECK(over_cmd == base_cmd);
  CHECK(prom["scrape_configs"][1]["static_configs"][0]["targets"][0].as<std::string>() ==
        "worker:9100");
}
