// Command-line flags for rinhad: --config FILE, --print-config, and one --<key> per knob.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>

#include "config/config.hpp"

namespace rinha::config {

struct FlagValues {
  std::string config_file;  // "" when none given
  bool print_config = false;
  bool print_sample = false;  // annotated defaults: the content of config/rinhad.yaml
  std::map<std::string, std::string> overrides;  // knob key -> flag value, only flags given
};

// Registers the flags on app; values land in out after app.parse().
void add_flags(CLI::App& app, FlagValues& out);

// Defaults, then the file, then the flags; then validate(). Errors name the key.
Result<Config> load(const FlagValues& flags);

}  // namespace rinha::config
