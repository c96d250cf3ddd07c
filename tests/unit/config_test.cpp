// Config: defaults, YAML file, flag override, validation errors naming the key, sample in step.
#include "config/config.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "config/flags.hpp"
#include "config/knobs.hpp"

using namespace rinha::config;
using rinha::Durability;
using rinha::Result;

namespace {

Result<Config> load_args(std::vector<std::string> args) {
  CLI::App app;
  FlagValues flags;
  add_flags(app, flags);
  std::vector<const char*> argv{"rinhad"};
  for (auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  return load(flags);
}

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = "/tmp/rinha_config_test_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("defaults validate and match the documented values") {
  auto cfg = load_args({});
  REQUIRE(cfg.is_ok());
  CHECK(cfg->mode == Mode::kApi);
  CHECK(cfg->api.threads == 1);
  CHECK(cfg->health.interval_ms == 5000);
  CHECK(cfg->handoff.durability == Durability::kProcess);
  CHECK(cfg->health.shared == OnOff::kOff);  // single-node polling stays the default
  CHECK(cfg->health.shared_retry_ms == 500);
}

TEST_CASE("file values apply and flags win over the file") {
  auto path = write_temp(
      "a.yaml",
      "api:\n  threads: 3\n  listen: \"127.0.0.1:7000\"\nretry:\n  backoff_cap_ms: 500\n");
  auto cfg = load_args({"--config", path, "--api.threads=5"});
  REQUIRE(cfg.is_ok());
  CHECK(cfg->api.threads == 5);
  CHECK(cfg->api.listen == "127.0.0.1:7000");
  CHECK(cfg->retry.backoff_cap_ms == 500);
  auto restart = load_args({"--router.stale_after_ms=400", "--worker.summary_wait_ms=300",
                            "--worker.replay_recheck_ms=50", "--worker.reconcile_delay_ms=9000"});
  REQUIRE(restart.is_ok());
  CHECK(restart->router.stale_after_ms == 400);
  CHECK(restart->worker.summary_wait_ms == 300);
  CHECK(restart->worker.replay_recheck_ms == 50);
  CHECK(restart->worker.reconcile_delay_ms == 9000);
  auto shared = load_args({"--health.shared=on", "--health.shared_retry_ms=200"});
  REQUIRE(shared.is_ok());
  CHECK(shared->health.shared == OnOff::kOn);
  CHECK(shared->health.shared_retry_ms == 200);
  CHECK(dump_yaml(*shared).find("shared: \"on\"") != std::string::npos);
  // Enum knobs: every spelling parses to its enumerator and dumps back the same.
  auto typed = load_args({"--mode=worker", "--handoff.durability=machine"});
  REQUIRE(typed.is_ok());
  CHECK(typed->mode == Mode::kWorker);
  CHECK(typed->handoff.durability == Durability::kMachine);
  const std::string dump = dump_yaml(*typed);
  CHECK(dump.find("mode: \"worker\"") != std::string::npos);
  CHECK(dump.find("durability: \"machine\"") != std::string::npos);
  auto none = load_args({"--handoff.durability=none"});
  REQUIRE(none.is_ok());
  CHECK(none->handoff.durability == Durability::kNone);
}

TEST_CASE("each kind of bad value is rejected naming its key") {
  struct Row {
    std::string yaml;
    std::string key;
  };
  for (const auto& [yaml, key] : std::vector<Row>{
           {"api:\n  threadz: 2\n", "api.threadz"},
           {"api:\n  threads: 0\n", "api.threads"},
           {"api:\n  threads: many\n", "api.threads"},
           {"handoff:\n  durability: sometimes\n", "handoff.durability"},
           {"health:\n  interval_ms: 1000\n", "health.interval_ms"},
           {"processors:\n  default:\n    url: ftp://x\n", "processors.default.url"},
           {"api:\n  listen: nowhere\n", "api.listen"},
           {"retry:\n  backoff_base_ms: 900\n  backoff_cap_ms: 100\n", "retry.backoff_base_ms"},
           {"database:\n  url: mysql://x\n", "database.url"},
           {"ledger:\n  horizon_ms: 10000\n  bucket_ms: 6000\n", "ledger.horizon_ms"},
           {"ledger:\n  bucket_ms: 50\n", "ledger.bucket_ms"},
           {"worker:\n  summary_wait_ms: 1000\n", "worker.summary_wait_ms"},
           {"worker:\n  replay_recheck_ms: 0\n", "worker.replay_recheck_ms"},
           {"router:\n  stale_after_ms: -1\n", "router.stale_after_ms"},
           {"health:\n  shared: maybe\n", "health.shared"},
           {"health:\n  shared_retry_ms: 5000\n", "health.shared_retry_ms"},
           {"cluster:\n  peers: \"unix:/a,,unix:/b\"\n", "cluster.peers"},
           {"cluster:\n  peers: \"unix:/a,nowhere\"\n", "cluster.peers"},
           {"cluster:\n  peers: \"unix:/a,\"\n", "cluster.peers"},
           {"api: [1, 2]\n", "api"},
           {"api:\n  threads:\n", "api.threads"},
           {"mode: [api]\n", "mode"},
       }) {
    INFO(yaml);
    auto cfg = load_args({"--config", write_temp("bad.yaml", yaml)});
    REQUIRE_FALSE(cfg.is_ok());
    CHECK_THAT(cfg.status().message(), Catch::Contains(key));
  }
  auto flag = load_args({"--api.threads=99"});
  REQUIRE_FALSE(flag.is_ok());
  CHECK_THAT(flag.status().message(), Catch::Contains("--api.threads"));
  auto peers = peer_list("unix:/tmp/w2.sock,10.0.0.3:7000");
  REQUIRE(peers.is_ok());
  CHECK(*peers == std::vector<std::string>{"unix:/tmp/w2.sock", "10.0.0.3:7000"});
  CHECK(peer_list("")->empty());
  CHECK_FALSE(load_args({"--config", "/nonexistent/rinhad.yaml"}).is_ok());
  CHECK_FALSE(load_args({"--config", write_temp("syntax.yaml", "api: {threads: 1\n")}).is_ok());
}

TEST_CASE("dump round-trips through the YAML loader") {
  Config c;
  REQUIRE(set_value(c, "api.threads", "7").is_ok());
  REQUIRE(set_value(c, "processors.fallback.url", "http://h:1/x").is_ok());
  Config back;
  REQUIRE(apply_yaml_text(back, dump_yaml(c)).is_ok());
  CHECK(dump_yaml(back) == dump_yaml(c));
  CHECK(back.api.threads == 7);
}

TEST_CASE("secrets are masked in dumps") {
  Config c;
  REQUIRE(set_value(c, "database.url", "postgresql://rinha:s3cret@db:5432/rinha").is_ok());
  std::string out = dump_yaml(c);
  CHECK(out.find("s3cret") == std::string::npos);
  CHECK(out.find("postgresql://rinha:***@db:5432/rinha") != std::string::npos);
  CHECK(redact_url("postgresql://u@h/db") == "postgresql://u@h/db");
  REQUIRE(set_value(c, "api.purge_token", "purge-s3cret").is_ok());
  out = dump_yaml(c);
  CHECK(out.find("purge-s3cret") == std::string::npos);
  CHECK(out.find("purge_token: \"***\"") != std::string::npos);
}

TEST_CASE("config/rinhad.yaml is exactly the annotated defaults and loads to the defaults") {
  std::ifstream in(std::string(RINHA_SOURCE_DIR) + "/config/rinhad.yaml");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  INFO("regenerate with: rinhad --print-config-sample > config/rinhad.yaml");
  CHECK(ss.str() == dump_yaml(Config{}, true));
  Config loaded;
  REQUIRE(apply_yaml_text(loaded, ss.str()).is_ok());
  CHECK(dump_yaml(loaded) == dump_yaml(Config{}));
  for (const auto& k : knobs())
    CHECK(ss.str().find(k.key.substr(k.key.rfind('.') + 1) + ":") != std::string::npos);
}
