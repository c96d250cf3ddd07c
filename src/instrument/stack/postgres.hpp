// Postgres: a private PostgreSQL 15 cluster for the local stack and the integration tests.
// Debian's binaries (/usr/lib/postgresql/15/bin) initdb a fresh data dir under the given base
// dir; the server listens on 127.0.0.1:<port> and on a private socket dir (never the packaged
// cluster's 5432 or /var/run/postgresql). As root, every PostgreSQL program runs as the
// unprivileged `postgres` user (initdb and the server refuse root) and the dirs are chowned;
// when that user cannot reach the base dir (a 0700 parent), the cluster goes to a private
// /tmp/rinha-pg-* dir that <base dir>/pg links to.
// Tuning comes from config/postgresql.conf (copied into the generated postgresql.conf), the
// same file the compose deployment mounts; without it a crash-unsafe fast minimum is used.
//
// Threading: one owner. Destruction stops the server (pg_ctl stop -m fast) unless released.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "instrument/stack/process.hpp"

namespace rinha::stack {

struct PostgresOptions {
  std::string base_dir;  // data/, sock/ and postgres.log go here
  int port = 0;          // 0 = a free loopback port
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
  std::string conf_include;               // e.g. <src>/config/postgresql.conf; "" = none
  std::string database = "rinha";         // created after start
  bool new_session = false;               // detached (`rinhactl stack up`)
  std::vector<std::string> cgroup_procs;  // the server joins these groups (cgroup.hpp)
  std::chrono::milliseconds ready_timeout{30000};
  // "" = initdb at every start. Else a data dir initdb makes once at pg_template_path(this)
  // (under a lock: starts at once make it once) and every start copies: the tests start a
  // cluster per case.
  std::string template_dir;
};

// Where the template of prefix `template_dir` lives: the prefix plus a digest of initdb's
// arguments, so that a template made with other arguments (an older build) is never copied.
std::string pg_template_path(const std::string& template_dir);

class Postgres {
 public:
  Postgres() = default;
  ~Postgres();
  Postgres(Postgres&&) = default;
  Postgres& operator=(Postgres&&) = default;

  // Removes any previous data dir, runs initdb, starts the server, waits until it accepts
  // connections and creates the database. Fails naming the step, with the log's tail.
  static Result<Postgres> start(const PostgresOptions& opts);

  int port() const { return port_; }
  // libpq URI over TCP loopback: postgresql://postgres@127.0.0.1:<port>/<database>
  std::string url() const;
  const std::string& socket_dir() const { return socket_dir_; }
  const std::string& data_dir() const { return data_dir_; }
  Process& process() { return server_; }

  // Runs one SQL statement through psql (as the postgres user) and returns its unaligned,
  // tuples-only output; for tests and diagnostics, not for the data path.
  Result<std::string> psql(const std::string& sql) const;

  // pg_ctl stop -m fast (the server finishes open transactions' rollback and checkpoints),
  // then reaps; falls back to signals if pg_ctl fails. Idempotent.
  void stop();
  // Starts the stopped server again on the same data dir and port and waits until it is ready
  // (outage tests); ok at once if it runs.
  Status resume();
  pid_t release() { return server_.release(); }

 private:
  Status launch();  // server_ from server_argv_, then waits for pg_isready
  Status initdb(const std::string& dir, const std::string& log) const;
  Status copy_template(const std::string& log) const;  // opts_.template_dir -> data_dir_
  // One of the cluster's client programs (bin_dir/program args), run as run_as_, output to log.
  ProcessSpec tool(const std::string& program, std::vector<std::string> args,
                   const std::string& log) const;

  PostgresOptions opts_;
  std::string run_as_;  // "postgres" when we are root
  std::string data_dir_;
  std::string socket_dir_;
  int port_ = 0;
  std::vector<std::string> server_argv_;
  Process server_;
};

}  // namespace rinha::stack
