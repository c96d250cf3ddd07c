// Command lines of the stack's programs and where their binaries live. Reads no config itself;
// rinhad reads config/rinhad.yaml (when present) and these flags override it.
#include "instrument/stack/components.hpp"

#include <unistd.h>

#include <filesystem>
#include <sstream>

namespace rinha::stack {
namespace fs = std::filesystem;

namespace {

// The fields every launcher sets (designated initializers would do, but gcc 12 -Wextra warns
// about each member they leave to its default).
ProcessSpec spec_of(std::string name, std::vector<std::string> argv, std::string log_path) {
  ProcessSpec s;
  s.name = std::move(name);
  s.argv = std::move(argv);
  s.log_path = std::move(log_path);
  return s;
}

}  // namespace

std::string self_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

Locations Locations::defaults() {
  Locations loc;
  const std::string dir = self_dir();
  loc.rinhad = dir + "/rinhad";
  loc.rinhactl = dir + "/rinhactl";
#ifdef RINHA_SOURCE_DIR
  loc.source_dir = RINHA_SOURCE_DIR;
#else
  loc.source_dir = ".";
#endif
  return loc;
}

std::string Locations::rinhad_config() const {
  if (!rinhad_config_path.empty()) return rinhad_config_path;
  std::string p = source_dir + "/config/rinhad.yaml";
  return fs::exists(p) ? p : std::string();
}

Result<Fees> fees_for(const std::string& shape) {
  if (shape == "preview") return Fees{"0.05", "0.15"};
  if (shape == "final") return Fees{"0.07", "0.10"};
  return Status::invalid_argument("fees: '" + shape + "' is not one of preview|final");
}

ProcessSpec emulator_spec(const Locations& loc, const std::string& name, int port,
                          const std::string& fee, const std::string& token,
                          const std::string& log_path) {
  return spec_of("processor-" + name,
                 {loc.rinhactl, "processor", "--name", name, "--listen",
                  "127.0.0.1:" + std::to_string(port), "--fee", fee, "--token", token},
                 log_path);
}

namespace {

std::vector<std::string> rinhad_argv(const Locations& loc, const RinhadWiring& w,
                                     const std::string& mode) {
  std::vector<std::string> argv = {loc.rinhad, "--mode=" + mode};
  const std::string cfg = loc.rinhad_config();
  if (!cfg.empty()) argv.insert(argv.end(), {"--config", cfg});
  argv.insert(argv.end(),
              {"--worker.listen", w.worker_listen, "--processors.default.url", w.default_url,
               "--processors.fallback.url", w.fallback_url, "--database.url", w.database_url,
               "--handoff.journal_path", w.journal_path});
  return argv;
}

}  // namespace

ProcessSpec worker_spec(const Locations& loc, const RinhadWiring& w, const std::string& log_path) {
  return spec_of("worker", rinhad_argv(loc, w, "worker"), log_path);
}

ProcessSpec api_spec(const Locations& loc, const RinhadWiring& w, const std::string& name, int port,
                     const std::string& log_path) {
  auto argv = rinhad_argv(loc, w, "api");
  // Each api keeps its own journal beside the worker's.
  const auto journal = std::filesystem::path(w.journal_path).parent_path() / (name + ".journal");
  argv.insert(argv.end(), {"--api.listen", "127.0.0.1:" + std::to_string(port),
                           "--api.journal_path", journal.string()});
  return spec_of(name, argv, log_path);
}

ProcessSpec haproxy_spec(const Locations& loc, const std::string& cfg, const std::string& bind,
                         const std::vector<std::string>& apis, const std::string& log_path) {
  ProcessSpec s = spec_of("haproxy", {loc.haproxy, "-f", cfg, "-db"}, log_path);
  s.env = {{"RINHA_LB_BIND", bind}};
  for (size_t i = 0; i < apis.size(); ++i) s.env["RINHA_API" + std::to_string(i + 1)] = apis[i];
  return s;
}

Result<std::string> haproxy_config_for_apis(const std::string& config_text, int n_apis) {
  std::istringstream in(config_text);
  std::string out, line;
  bool replaced = false;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line.compare(first, 10, "server api") == 0) {
      if (!replaced) {
        const std::string indent = line.substr(0, first);
        for (int k = 1; k <= n_apis; ++k) {
          const std::string n = std::to_string(k);
          out += indent + "server api" + n + " \"${RINHA_API" + n + "}\"\n";
        }
        replaced = true;
      }
      continue;
    }
    out += line + "\n";
  }
  if (!replaced) return Status::invalid_argument("the HAProxy config has no `server api` line");
  return out;
}

}  // namespace rinha::stack
