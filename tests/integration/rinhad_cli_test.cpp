// rinhad's command line as an operator meets it: exit codes and messages of the real binary.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

namespace {

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Run run(const std::string& args) {
  Run r;
  std::string cmd = std::string(RINHAD_PATH) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string temp_yaml(const std::string& text) {
  std::string path = "/tmp/rinhad-cli-test-" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("a bad configuration key exits 2 naming the key") {
  auto r = run("--mode=api --config " + temp_yaml("api:\n  threadz: 2\n"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("api.threadz"));
  auto flag = run("--mode=worker --retry.backoff_cap_ms=abc");
  CHECK(flag.exit_code == 2);
  CHECK_THAT(flag.output, Catch::Contains("retry.backoff_cap_ms"));
  auto unknown = run("--no-such-flag");
  CHECK(unknown.exit_code == 2);
}

TEST_CASE("help and print-config work and mask the database password") {
  auto help = run("--mode=api --help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.output, Catch::Contains("--api.threads"));
  auto cfg =
      run("--mode=worker --database.url=postgresql://rinha:hunter2@db:5432/rinha --print-config");
  CHECK(cfg.exit_code == 0);
  CHECK_THAT(cfg.output, Catch::Contains("mode: \"worker\""));
  CHECK_THAT(cfg.output, Catch::Contains("postgresql://rinha:***@db:5432/rinha"));
  CHECK(cfg.output.find("hunter2") == std::string::npos);
}
