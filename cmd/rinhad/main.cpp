// rinhad: parse flags, load and validate the config, run the api or the worker role.
// Exit codes: 0 clean stop, 1 runtime failure, 2 configuration error.
#include <spdlog/spdlog.h>

#include <array>
#include <cstdio>
#include <exception>
#include <iostream>

#include "api/server.hpp"
#include "config/flags.hpp"
#include "worker/run.hpp"

namespace {

// Indexed by config::LogLevel's value (its order: trace, debug, info, warn, error).
constexpr std::array<spdlog::level::level_enum, 5> kSpdlogLevels{
    spdlog::level::trace, spdlog::level::debug, spdlog::level::info, spdlog::level::warn,
    spdlog::level::err};
static_assert(kSpdlogLevels.size() == rinha::config::kLogLevelNames.size());

int run(int argc, char** argv) {
  CLI::App app{"rinhad: payment intermediary daemon (--mode=api|worker)"};
  rinha::config::FlagValues flags;
  rinha::config::add_flags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (flags.print_sample) {
    std::cout << rinha::config::dump_yaml(rinha::config::Config{}, true);
    return 0;
  }
  auto cfg = rinha::config::load(flags);
  if (!cfg.is_ok()) {
    std::fprintf(stderr, "rinhad: config error: %s\n", cfg.status().message().c_str());
    return 2;
  }
  if (flags.print_config) {
    std::cout << rinha::config::dump_yaml(*cfg);
    return 0;
  }
  spdlog::set_level(kSpdlogLevels[static_cast<size_t>(cfg->log.level)]);
  return cfg->mode == rinha::config::Mode::kApi ? rinha::api::run(*cfg) : rinha::worker::run(*cfg);
}

}  // namespace

// Start-up throws (STYLE: exceptions on the control plane only); one message and 1, never
// std::terminate's abort.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rinhad: %s\n", e.what());
    return 1;
  }
}
