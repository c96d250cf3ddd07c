// Launch specs for the stack's programs: HAProxy, the processor emulator and rinhad in its two
// roles. Each returns a ProcessSpec (the caller starts it attached or detached) and says which
// URL answers once the process is ready. Flags given here override config/rinhad.yaml.
//
// Threading: pure functions over their arguments (binary lookup reads /proc/self/exe).
#pragma once

#include <string>
#include <vector>

#include "instrument/stack/process.hpp"

namespace rinha::stack {

// Where the stack's programs and files are. Defaults: rinhad and rinhactl next to the running
// executable (/proc/self/exe), haproxy from /usr/sbin, files from the source tree this binary
// was built from (RINHA_SOURCE_DIR).
struct Locations {
  std::string rinhad;
  std::string rinhactl;
  std::string haproxy = "/usr/sbin/haproxy";
  std::string pg_bin_dir = "/usr/lib/postgresql/15/bin";
  std::string source_dir;  // deploy/haproxy/haproxy.cfg, config/rinhad.yaml, config/postgresql.conf
  std::string rinhad_config_path;  // set: used instead of the source tree's config/rinhad.yaml

  static Locations defaults();
  std::string haproxy_config() const { return source_dir + "/deploy/haproxy/haproxy.cfg"; }
  // rinhad_config_path if set, else config/rinhad.yaml if it exists, else "" (rinhad then runs
  // on built-in defaults + flags).
  std::string rinhad_config() const;
  std::string postgres_config() const { return source_dir + "/config/postgresql.conf"; }
};

// The directory holding the running executable.
std::string self_dir();

// Fees of the two emulated processors per official test shape: preview 5 %/15 %, final 7 %/10 %.
struct Fees {
  std::string default_fee;
  std::string fallback_fee;
};
Result<Fees> fees_for(const std::string& shape);  // "preview" | "final"

// rinhactl processor --name <name> --listen 127.0.0.1:<port> --fee <fee> --token <token>
ProcessSpec emulator_spec(const Locations& loc, const std::string& name, int port,
                          const std::string& fee, const std::string& token,
                          const std::string& log_path);

// What every rinhad process of one stack shares.
struct RinhadWiring {
  std::string worker_listen;  // unix:<run_dir>/worker.sock
  std::string default_url;
  std::string fallback_url;
  std::string database_url;
  std::string journal_path;  // <run_dir>/journal
};

// rinhad --mode=worker with the wiring as flags.
ProcessSpec worker_spec(const Locations& loc, const RinhadWiring& w, const std::string& log_path);
// rinhad --mode=api --api.listen 127.0.0.1:<port> with the wiring as flags.
ProcessSpec api_spec(const Locations& loc, const RinhadWiring& w, const std::string& name, int port,
                     const std::string& log_path);

// haproxy -f <cfg> -db, with RINHA_LB_BIND and RINHA_API1..RINHA_API<n> (apis[0..n-1]) in its
// environment (the cfg reads them as "${VAR}", so the same file serves docker compose).
ProcessSpec haproxy_spec(const Locations& loc, const std::string& cfg, const std::string& bind,
                         const std::vector<std::string>& apis, const std::string& log_path);
inline ProcessSpec haproxy_spec(const Locations& loc, const std::string& cfg,
                                const std::string& bind, const std::string& api1,
                                const std::string& api2, const std::string& log_path) {
  return haproxy_spec(loc, cfg, bind, std::vector<std::string>{api1, api2}, log_path);
}

// A cluster's HAProxy config from the deploy one: its `server api...` lines replaced, where the
// first stood, by n_apis lines `server apiK "${RINHA_APIK}"` (K = 1..n_apis), everything else
// kept, so the cluster runs the contest's settings. Fails when the text has no such line.
Result<std::string> haproxy_config_for_apis(const std::string& config_text, int n_apis);

}  // namespace rinha::stack
