// Postgres: initdb + server + createdb for a private cluster; pg_ctl stop -m fast.
// Reads config/postgresql.conf (through PostgresOptions::conf_include) and nothing else.
// Does not apply the schema: the worker owns sql/ and applies it when it connects.
#include "instrument/stack/postgres.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>
#include <vector>

#include "common/errno_text.hpp"
#include "instrument/stack/net.hpp"
#include "net/fd.hpp"

namespace rinha::stack {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

Status chown_to(const std::string& path, const std::string& user) {
  if (user.empty()) return Status::ok();
  auto ids = find_user(user);
  if (!ids.is_ok()) return ids.status();
  if (chown(path.c_str(), ids->uid, ids->gid) != 0)
    return Status::io_error("chown " + path + " failed");
  return Status::ok();
}

// Whether user can reach (search) dir: every ancestor must let it through. A run dir under a
// 0700 parent owned by root (mktemp -d, /root) does not.
bool reachable_by(const std::string& dir, const std::string& user) {
  auto rc = run_to_completion({"test", {"/usr/bin/test", "-x", dir}, {}, "", user, "", false},
                              std::chrono::milliseconds(10000));
  return rc.is_ok() && *rc == 0;
}

// Removes a previous cluster at root: a directory, or a link to one (see start()).
void remove_cluster(const std::string& root) {
  std::error_code ec;
  if (fs::is_symlink(root, ec)) {
    const fs::path target = fs::read_symlink(root, ec);
    if (!ec && target.string().rfind("/tmp/rinha-pg-", 0) == 0) fs::remove_all(target, ec);
  }
  fs::remove_all(root, ec);
}

// Settings used when no config file is given: durability off, this is a throwaway cluster.
const char* const kFallbackSettings[] = {"fsync=off", "synchronous_commit=off",
                                         "full_page_writes=off"};

}  // namespace

Postgres::~Postgres() { stop(); }

std::string Postgres::url() const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + opts_.database;
}

Result<Postgres> Postgres::start(const PostgresOptions& opts) {
  Postgres pg;
  pg.opts_ = opts;
  pg.run_as_ = geteuid() == 0 ? "postgres" : "";
  pg.port_ = opts.port ? opts.port : free_port();
  std::string root = opts.base_dir + "/pg";
  const std::string log = opts.base_dir + "/postgres.log";
  remove_cluster(root);
  std::error_code ec;
  // As root, PostgreSQL runs as `postgres`, which must reach its data dir. When base_dir is not
  // reachable for it (a 0700 parent), the cluster lives in a private dir under /tmp instead and
  // <base_dir>/pg links to it; logs stay in base_dir (we open them). The next start in the same
  // base_dir removes it, like a cluster under base_dir.
  if (!pg.run_as_.empty() && !reachable_by(opts.base_dir, pg.run_as_)) {
    std::string tmpl = "/tmp/rinha-pg-XXXXXX";
    if (!mkdtemp(tmpl.data()))
      return Status::io_error("postgres: " + opts.base_dir + " is not reachable by user " +
                              pg.run_as_ + " and mkdtemp " + tmpl + " failed: " +
                              errno_text(errno) + "; use a --run-dir outside 0700 dirs");
    fs::create_directory_symlink(tmpl, root, ec);
    if (ec) return Status::io_error("postgres: cannot link " + root + ": " + ec.message());
    root = tmpl;
  }
  pg.data_dir_ = root + "/data";
  pg.socket_dir_ = root + "/sock";
  fs::create_directories(pg.socket_dir_, ec);
  if (ec)
    return Status::io_error("postgres: cannot create " + pg.socket_dir_ + ": " + ec.message());
  fs::permissions(root, fs::perms::owner_all, ec);
  for (const auto& d : {root, pg.socket_dir_}) {
    Status s = chown_to(d, pg.run_as_);
    if (!s.is_ok()) return Status::io_error("postgres: " + s.message());
  }

  const std::string bin = opts.bin_dir + "/";
  Status made = opts.template_dir.empty() ? pg.initdb(pg.data_dir_, log) : pg.copy_template(log);
  if (!made.is_ok()) return made;

  // clang-format off
  std::vector<std::string> argv = {bin + "postgres", "-D", pg.data_dir_,
                                   "-p", std::to_string(pg.port_), "-k", pg.socket_dir_,
                                   "-c", "listen_addresses=127.0.0.1"};
  // clang-format on
  if (!opts.conf_include.empty()) {
    // Copied rather than included: the server (user postgres) may not reach the source tree.
    const std::string abs = fs::absolute(opts.conf_include).string();
    std::ifstream in(abs);
    if (!in) return Status::not_found("postgres: cannot read config file " + abs);
    std::ofstream conf(pg.data_dir_ + "/postgresql.conf", std::ios::app);
    conf << "\n# rinha: tuning shared with deploy/compose, copied from " << abs << "\n"
         << in.rdbuf();
    if (!conf) return Status::io_error("postgres: cannot append " + abs + " to postgresql.conf");
  } else {
    for (const char* s : kFallbackSettings) {
      argv.push_back("-c");
      argv.push_back(s);
    }
  }
  pg.server_argv_ = std::move(argv);
  Status up = pg.launch();
  if (!up.is_ok()) return up;

  auto rc = run_to_completion(pg.tool("createdb",
                                      {"-h", pg.socket_dir_, "-p", std::to_string(pg.port_), "-U",
                                       "postgres", opts.database},
                                      log),
                              milliseconds(30000));
  if (!rc.is_ok()) return rc.status();
  if (*rc != 0)
    return Status::internal("postgres: createdb " + opts.database + " exited " +
                            std::to_string(*rc) + ":\n" + tail_file(log));
  return pg;
}

namespace {
// initdb's arguments besides -D (pg_template_path digests them).
const std::vector<std::string> kInitdbArgs{"-U",   "postgres",         "--auth=trust", "-E",
                                           "UTF8", "--locale=C.UTF-8", "--no-sync"};
}  // namespace

std::string pg_template_path(const std::string& template_dir) {
  std::string joined;
  for (const auto& a : kInitdbArgs) joined += a + '\n';
  return template_dir + "-" + std::to_string(std::hash<std::string>{}(joined) % 1000000007);
}

Status Postgres::initdb(const std::string& dir, const std::string& log) const {
  std::vector<std::string> args{"-D", dir};
  args.insert(args.end(), kInitdbArgs.begin(), kInitdbArgs.end());
  auto rc = run_to_completion(tool("initdb", std::move(args), log), milliseconds(60000));
  if (!rc.is_ok()) return rc.status();
  if (*rc != 0)
    return Status::internal("postgres: initdb exited " + std::to_string(*rc) + ":\n" +
                            tail_file(log));
  return Status::ok();
}

Status Postgres::copy_template(const std::string& log) const {
  const std::string tmpl = pg_template_path(opts_.template_dir);
  const std::string lock_path = tmpl + ".lock";
  std::error_code ec;
  if (!fs::exists(tmpl + "/PG_VERSION", ec)) {
    const net::Fd lock(::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644));
    if (lock.get() < 0 || ::flock(lock.get(), LOCK_EX) != 0)
      return Status::io_error("postgres: cannot lock " + lock_path + ": " + errno_text(errno));
    // Made aside and renamed: a template that exists is complete.
    if (!fs::exists(tmpl + "/PG_VERSION", ec)) {
      const std::string part = tmpl + ".part";
      fs::remove_all(part, ec);
      Status s = initdb(part, log);
      if (!s.is_ok()) return s;
      fs::rename(part, tmpl, ec);
      if (ec) return Status::io_error("postgres: cannot rename " + part + ": " + ec.message());
    }
  }
  // cp -a as the server's user: the copy keeps the modes initdb set and gets that owner.
  auto rc = run_to_completion(
      {"cp", {"/bin/cp", "-a", tmpl, data_dir_}, {}, log, run_as_, "", false}, milliseconds(60000));
  if (!rc.is_ok()) return rc.status();
  if (*rc != 0)
    return Status::internal("postgres: copying " + tmpl + " exited " + std::to_string(*rc) + ":\n" +
                            tail_file(log));
  return Status::ok();
}

ProcessSpec Postgres::tool(const std::string& program, std::vector<std::string> args,
                           const std::string& log) const {
  args.insert(args.begin(), opts_.bin_dir + "/" + program);
  ProcessSpec s;
  s.name = program;
  s.argv = std::move(args);
  s.log_path = log;
  s.run_as_user = run_as_;
  return s;
}

Status Postgres::launch() {
  const std::string log = opts_.base_dir + "/postgres.log";
  auto server = Process::start({"postgres", server_argv_, {}, log, run_as_, "", opts_.new_session},
                               opts_.cgroup_procs);
  if (!server.is_ok()) return server.status();
  server_ = std::move(server).value();

  // Ready = pg_isready says so; a server that exits (bad setting, port taken) fails at once.
  const auto deadline = std::chrono::steady_clock::now() + opts_.ready_timeout;
  const ProcessSpec ready =
      tool("pg_isready",
           {"-q", "-h", socket_dir_, "-p", std::to_string(port_), "-U", "postgres", "-t", "1"}, "");
  while (true) {
    if (!server_.alive())
      return Status::unavailable("postgres exited (" + server_.exit_description() + "):\n" +
                                 tail_file(log));
    auto r = run_to_completion(ready, milliseconds(5000));
    if (r.is_ok() && *r == 0) return Status::ok();
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::timeout("postgres: not ready within " +
                             std::to_string(opts_.ready_timeout.count()) + " ms:\n" +
                             tail_file(log));
    std::this_thread::sleep_for(milliseconds(50));
  }
}

Status Postgres::resume() {
  if (server_.owned() && server_.alive()) return Status::ok();
  if (server_argv_.empty()) return Status::invalid_argument("postgres: never started");
  return launch();
}

Result<std::string> Postgres::psql(const std::string& sql) const {
  const std::string out = opts_.base_dir + "/psql.out";
  std::error_code ec;
  fs::remove(out, ec);
  auto rc = run_to_completion(
      tool("psql",
           {"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socket_dir_, "-p",
            std::to_string(port_), "-U", "postgres", "-d", opts_.database, "-c", sql},
           out),
      milliseconds(30000));
  if (!rc.is_ok()) return rc.status();
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  if (*rc != 0) return Status::internal("psql exited " + std::to_string(*rc) + ": " + text.str());
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

void Postgres::stop() {
  if (server_.pid() <= 0) return;
  if (server_.alive()) {
    auto rc =
        run_to_completion(tool("pg_ctl", {"stop", "-D", data_dir_, "-m", "fast", "-w", "-t", "20"},
                               opts_.base_dir + "/postgres.log"),
                          milliseconds(30000));
    (void)rc;  // whatever pg_ctl says, the reap below (with its signal fallback) finishes it
    server_.wait_exit(milliseconds(5000));
  }
  server_.stop(milliseconds(5000), SIGINT);  // SIGINT = fast shutdown, if pg_ctl failed
}

}  // namespace rinha::stack
