// rinhad: parse flags, load and validate the config, run the api or the worker role.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "config/flags.hpp"

int main(int argc, char** argv) {
  CLI::App app{"rinhad: payment intermediary daemon (api or worker role)"};
  rinha::config::FlagValues flags;
  rinha::config::add_flags(app, flags);
  CLI11_PARSE(app, argc, argv);
  auto cfg = rinha::config::load(flags);
  if (!cfg.is_ok()) {
    std::fprintf(stderr, "rinhad: config error: %s\n", cfg.status().message().c_str());
    return 2;
  }
  if (flags.print_config) {
    std::cout << rinha::config::dump_yaml(*cfg);
    return 0;
  }
  std::fprintf(stderr, "rinhad: mode %s not built yet\n", cfg->mode.c_str());
  return 1;
}
