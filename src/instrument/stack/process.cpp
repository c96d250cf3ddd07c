// Process: fork/exec into a fresh process group (or session), log redirection, group-wide stop.
// Reads no config. Does not restart anything: supervision here means start, watch, stop; a
// process that dies is reported (with its log tail) by the caller, never silently revived.
#include "instrument/stack/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "common/errno_text.hpp"

extern char** environ;

namespace rinha::stack {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

constexpr milliseconds kPoll{10};

std::string errno_what(const std::string& what, int err) {
  return what + ": " + rinha::errno_text(err);
}

// Environment for the child: ours, with spec.env added or replacing.
std::vector<std::string> child_environment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) merged[k] = v;
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [k, v] : merged) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_array(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Reads /proc/<pid>/status field "Key:" in kB.
std::optional<long> proc_status_kib(pid_t pid, const char* key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return std::nullopt;
  std::string line;
  const size_t klen = std::strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, klen, key) == 0) return std::strtol(line.c_str() + klen, nullptr, 10);
  }
  return std::nullopt;
}

// Child side: report errno to the parent through the CLOEXEC pipe and exit.
[[noreturn]] void child_fail(int err_fd, int err) {
  ssize_t ignored = write(err_fd, &err, sizeof err);
  (void)ignored;
  _exit(127);
}

// Child side of start(): only async-signal-safe calls from here to exec.
[[noreturn]] void exec_child(char* const* argv, char* const* envp, int log_fd, int err_fd,
                             bool new_session, uid_t uid, gid_t gid, bool set_user,
                             const char* work_dir, const std::vector<int>& cgroup_fds) {
  auto fail = [err_fd](int err) { child_fail(err_fd, err); };
  // "0" moves the writing process; first, before anything is allocated.
  for (int fd : cgroup_fds)
    if (write(fd, "0", 1) != 1) fail(errno);
  if (new_session) {
    if (setsid() < 0) fail(errno);
  } else if (setpgid(0, 0) < 0) {
    fail(errno);
  }
  // A parent may block SIGTERM for sigwait (rinhad does); exec keeps the mask, so clear it,
  // and restore default dispositions of signals the parent ignored. pthread_sigmask: the
  // async-signal-safe form with a defined meaning in a process that had threads.
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) signal(s, SIG_DFL);
  int devnull = open("/dev/null", O_RDWR);
  if (devnull < 0) fail(errno);
  int out = log_fd >= 0 ? log_fd : devnull;
  if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) fail(errno);
  if (work_dir && chdir(work_dir) < 0) fail(errno);
  if (set_user) {
    if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) fail(errno);
  }
  execve(argv[0], argv, envp);
  child_fail(err_fd, errno);
}

}  // namespace

Process::~Process() { stop(); }

Process::Process(Process&& o) noexcept
    : name_(std::move(o.name_)),
      log_path_(std::move(o.log_path_)),
      pid_(std::exchange(o.pid_, -1)),
      wait_status_(o.wait_status_),
      reaped_(o.reaped_) {}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    stop();
    name_ = std::move(o.name_);
    log_path_ = std::move(o.log_path_);
    pid_ = std::exchange(o.pid_, -1);
    wait_status_ = o.wait_status_;
    reaped_ = o.reaped_;
  }
  return *this;
}

Result<Process> Process::start(const ProcessSpec& spec,
                               const std::vector<std::string>& cgroup_procs) {
  if (spec.argv.empty()) return Status::invalid_argument(spec.name + ": empty command line");
  if (access(spec.argv[0].c_str(), X_OK) != 0)
    return Status::not_found(spec.name + ": " + errno_what(spec.argv[0], errno));

  uid_t uid = 0;
  gid_t gid = 0;
  bool set_user = false;
  if (!spec.run_as_user.empty()) {
    auto user = find_user(spec.run_as_user);
    if (!user.is_ok()) return Status::not_found(spec.name + ": " + user.status().message());
    uid = user->uid;
    gid = user->gid;
    set_user = uid != geteuid();
    if (set_user && geteuid() != 0)
      return Status::invalid_argument(spec.name + ": running as " + spec.run_as_user +
                                      " needs root");
  }

  int log_fd = -1;
  if (!spec.log_path.empty()) {
    log_fd = open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) return Status::io_error(spec.name + ": " + errno_what(spec.log_path, errno));
    if (set_user && fchown(log_fd, uid, gid) != 0) {
      // Only readability by that user suffers; the child writes through the inherited fd.
    }
  }

  std::vector<int> cgroup_fds;
  auto close_cgroup_fds = [&cgroup_fds] {
    for (int fd : cgroup_fds) close(fd);
  };
  for (const auto& f : cgroup_procs) {
    int fd = open(f.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      close_cgroup_fds();
      if (log_fd >= 0) close(log_fd);
      return Status::io_error(spec.name + ": " + errno_what(f, err));
    }
    cgroup_fds.push_back(fd);
  }

  std::vector<std::string> argv_s = spec.argv;
  std::vector<std::string> env_s = child_environment(spec.env);
  std::vector<char*> argv = c_array(argv_s);
  std::vector<char*> envp = c_array(env_s);
  const char* work_dir = spec.work_dir.empty() ? nullptr : spec.work_dir.c_str();

  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    if (log_fd >= 0) close(log_fd);
    close_cgroup_fds();
    return Status::io_error(errno_what("pipe", err));
  }

  pid_t pid = fork();
  if (pid == 0) {
    close(err_pipe[0]);
    exec_child(argv.data(), envp.data(), log_fd, err_pipe[1], spec.new_session, uid, gid, set_user,
               work_dir, cgroup_fds);
  }
  int fork_err = errno;
  close(err_pipe[1]);
  if (log_fd >= 0) close(log_fd);
  close_cgroup_fds();
  if (pid < 0) {
    close(err_pipe[0]);
    return Status::io_error(spec.name + ": " + errno_what("fork", fork_err));
  }
  if (!spec.new_session) setpgid(pid, pid);  // also in the parent: no race with an early kill

  int child_err = 0;
  ssize_t n;
  do {
    n = read(err_pipe[0], &child_err, sizeof child_err);
  } while (n < 0 && errno == EINTR);
  close(err_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof child_err)) {
    int st = 0;
    waitpid(pid, &st, 0);
    return Status::io_error(spec.name + ": " + errno_what("exec " + spec.argv[0], child_err));
  }

  Process p;
  p.name_ = spec.name;
  p.log_path_ = spec.log_path;
  p.pid_ = pid;
  return p;
}

bool Process::alive() {
  if (pid_ <= 0 || reaped_) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    wait_status_ = st;
    reaped_ = true;
    return false;
  }
  if (r == 0) return true;
  return pid_alive(pid_);  // not our child (ECHILD): judge by /proc
}

std::string Process::exit_description() const {
  if (!reaped_) return "";
  if (WIFEXITED(wait_status_)) return "exit " + std::to_string(WEXITSTATUS(wait_status_));
  if (WIFSIGNALED(wait_status_)) return "signal " + std::to_string(WTERMSIG(wait_status_));
  return "status " + std::to_string(wait_status_);
}

bool Process::wait_exit(milliseconds timeout) {
  const auto deadline = Steady::now() + timeout;
  while (alive()) {
    if (Steady::now() >= deadline) return false;
    std::this_thread::sleep_for(kPoll);
  }
  return true;
}

void Process::stop(milliseconds grace, int sig) {
  if (pid_ <= 0) return;
  if (!reaped_ && alive()) {
    kill(-pid_, sig);
    if (!wait_exit(grace)) {
      kill(-pid_, SIGKILL);
      wait_exit(milliseconds(5000));
    }
  }
  // Group members that outlived the leader (e.g. a grandchild) go too.
  kill(-pid_, SIGKILL);
  pid_ = -1;
}

pid_t Process::release() { return std::exchange(pid_, -1); }

Result<int> run_to_completion(const ProcessSpec& spec, milliseconds timeout) {
  auto p = Process::start(spec);
  if (!p.is_ok()) return p.status();
  Process proc = std::move(p).value();
  if (!proc.wait_exit(timeout)) {
    proc.stop(milliseconds(1000));
    return Status::timeout(spec.name + ": did not finish within " +
                           std::to_string(timeout.count()) + " ms");
  }
  std::string d = proc.exit_description();
  if (d.rfind("exit ", 0) == 0) return std::stoi(d.substr(5));
  return 128 + (d.rfind("signal ", 0) == 0 ? std::stoi(d.substr(7)) : 0);
}

Result<UserIds> find_user(const std::string& name) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  const int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0) return Status::io_error("getpwnam " + name + ": " + rinha::errno_text(rc));
  if (!found) return Status::not_found("unknown user " + name);
  return UserIds{pw.pw_uid, pw.pw_gid};
}

bool pid_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rp = stat.rfind(')');
  if (rp == std::string::npos || rp + 2 >= stat.size()) return false;
  char state = stat[rp + 2];
  return state != 'Z' && state != 'X';
}

std::optional<long> rss_kib(pid_t pid) { return proc_status_kib(pid, "VmRSS:"); }
std::optional<long> peak_rss_kib(pid_t pid) { return proc_status_kib(pid, "VmHWM:"); }

std::optional<TreeMemory> tree_memory(pid_t root) {
  if (!pid_alive(root)) return std::nullopt;
  std::map<pid_t, std::vector<pid_t>> children;
  std::map<pid_t, unsigned long> ticks;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto rp = stat.rfind(')');
    if (rp == std::string::npos) continue;
    char state = 0;
    pid_t ppid = 0;
    unsigned long utime = 0, stime = 0;
    // Fields after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt
    // cmajflt utime stime.
    if (std::sscanf(stat.c_str() + rp + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                    &state, &ppid, &utime, &stime) == 4) {
      const pid_t pid = std::stoi(name);
      children[ppid].push_back(pid);
      ticks[pid] = utime + stime;
    }
  }
  TreeMemory m;
  std::vector<pid_t> todo = {root};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    m.processes++;
    m.rss_kib += rss_kib(p).value_or(0);
    m.cpu_seconds += static_cast<double>(ticks[p]) / static_cast<double>(sysconf(_SC_CLK_TCK));
    std::ifstream rollup("/proc/" + std::to_string(p) + "/smaps_rollup");
    std::string line;
    while (std::getline(rollup, line)) {
      if (line.rfind("Pss:", 0) == 0) {
        m.pss_kib += std::strtol(line.c_str() + 4, nullptr, 10);
        break;
      }
    }
    for (pid_t c : children[p]) todo.push_back(c);
  }
  return m;
}

bool stop_pid(pid_t pid, milliseconds grace, int sig, bool group) {
  if (!pid_alive(pid)) return true;
  pid_t target = group && getpgid(pid) == pid ? -pid : pid;
  auto gone_within = [pid](milliseconds t) {
    const auto deadline = Steady::now() + t;
    while (true) {
      int st;
      waitpid(pid, &st, WNOHANG);  // reaps it if it happens to be our child
      if (!pid_alive(pid)) return true;
      if (Steady::now() >= deadline) return false;
      std::this_thread::sleep_for(kPoll);
    }
  };
  kill(target, sig);
  if (gone_within(grace)) {
    if (target < 0) kill(target, SIGKILL);  // stragglers of the group
    return true;
  }
  kill(target, SIGKILL);
  return gone_within(milliseconds(5000));
}

std::string tail_file(const std::string& path, int max_lines) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > 65536 ? size - 65536 : 0;
  in.seekg(start);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!text.empty() && text.back() == '\n') text.pop_back();
  size_t pos = text.size();
  for (int i = 0; i < max_lines && pos != std::string::npos && pos > 0; ++i)
    pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

}  // namespace rinha::stack
