// Flag registration and the defaults -> file -> flags -> validate order.
#include "config/flags.hpp"

#include "config/knobs.hpp"

namespace rinha::config {

void add_flags(CLI::App& app, FlagValues& out) {
  app.add_option("-c,--config", out.config_file, "YAML configuration file");
  app.add_flag("--print-config", out.print_config,
               "print the effective configuration as YAML and exit");
  app.add_flag("--print-config-sample", out.print_sample,
               "print the annotated default configuration and exit");
  for (const auto& k : knobs()) {
    std::string key = k.key;
    std::string help = k.help;
    if (k.type == KnobType::kInt)
      help += " [" + std::to_string(k.min) + ".." + std::to_string(k.max) + "]";
    if (!k.secret) help += " (default " + k.get(Config{}) + ")";
    app.add_option_function<std::string>(
           "--" + key, [&out, key](const std::string& v) { out.overrides[key] = v; }, help)
        ->type_name(k.type == KnobType::kInt ? "INT" : "TEXT");
  }
}

Result<Config> load(const FlagValues& flags) {
  Config cfg;
  if (!flags.config_file.empty()) {
    Status s = apply_yaml_file(cfg, flags.config_file);
    if (!s.is_ok()) return s;
  }
  for (const auto& [key, value] : flags.overrides) {
    Status s = set_value(cfg, key, value);
    if (!s.is_ok()) return Status::invalid_argument("--" + s.message());
  }
  Status s = validate(cfg);
  if (!s.is_ok()) return s;
  return cfg;
}

}  // namespace rinha::config
