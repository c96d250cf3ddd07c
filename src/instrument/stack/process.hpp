// Process supervision for the local stack and the integration tests: start a program in its own
// process group with stdout/stderr appended to a log file, stop it (SIGTERM, then SIGKILL after
// a grace period) and reap it.
//
// Two ownership modes share one class:
//  - attached (tests): the Process object owns the child; its destructor stops and reaps it.
//  - detached (`rinhactl stack up`): the child gets its own session (setsid) and release() hands
//    it over; a later `rinhactl stack down` stops it by pid with stop_pid(), which works on
//    processes that are not our children (they were re-parented to init).
//
// Threading: a Process is used by one thread at a time. Spawning forks the calling process;
// everything the child needs (argv, env, uid, log fd) is prepared before fork, so only
// async-signal-safe calls run between fork and exec.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"

namespace rinha::stack {

struct ProcessSpec {
  std::string name;                        // for messages and the pids file
  std::vector<std::string> argv;           // argv[0] is the program path (no PATH search)
  std::map<std::string, std::string> env;  // added to (or replacing in) our environment
  std::string log_path;                    // stdout+stderr appended here; "" = /dev/null
  std::string run_as_user;                 // "" = as we are; else setuid to it (needs root)
  std::string work_dir;                    // "" = inherit
  bool new_session = false;                // setsid: survives our exit and our terminal
};

class Process {
 public:
  Process() = default;
  ~Process();
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Forks and execs spec.argv. Fails if the program is not executable, the user is unknown or
  // the log file cannot be opened (checked before fork), or if exec fails in the child
  // (reported back through a CLOEXEC pipe, so a typo in a path is an error here, not a silent
  // exit 127 later).
  // cgroup_procs: cgroup.procs files the child joins before exec (cgroup.hpp), so that all
  // it and its descendants allocate is charged to those groups.
  static Result<Process> start(const ProcessSpec& spec,
                               const std::vector<std::string>& cgroup_procs = {});

  const std::string& name() const { return name_; }
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return pid_; }
  bool owned() const { return pid_ > 0; }

  // True while the child runs; reaps it (keeping the status) once it has exited.
  bool alive();
  // Exit description once the child has been reaped: "exit 1", "signal 9"; "" while it runs.
  std::string exit_description() const;

  // SIGTERM to the process group, wait up to grace, then SIGKILL; always reaps. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000), int sig = 15);
  // Waits (without signalling) up to timeout for the child to exit; true if it did.
  bool wait_exit(std::chrono::milliseconds timeout);
  // Forgets the child without stopping it (detached mode); returns its pid.
  pid_t release();

 private:
  std::string name_;
  std::string log_path_;
  pid_t pid_ = -1;
  int wait_status_ = 0;
  bool reaped_ = false;
};

// Runs a program to completion (same spec rules, attached), bounded by timeout (killed past it).
// Returns the exit code; a non-zero code is not an error here. Output goes to spec.log_path.
Result<int> run_to_completion(const ProcessSpec& spec, std::chrono::milliseconds timeout);

// A local user's ids (getpwnam_r: safe while other threads run); kNotFound for an unknown name.
struct UserIds {
  uid_t uid = 0;
  gid_t gid = 0;
};
Result<UserIds> find_user(const std::string& name);

// --- pid-based helpers for processes that are not our children (detached stacks) ---

// True if pid exists and is not a zombie.
bool pid_alive(pid_t pid);
// Resident set size in KiB from /proc/<pid>/status (VmRSS), nullopt if gone.
std::optional<long> rss_kib(pid_t pid);
// Peak resident set size (VmHWM) in KiB, nullopt if gone.
std::optional<long> peak_rss_kib(pid_t pid);
// Memory and CPU of pid and all its live descendants (PostgreSQL backends): RSS counts shared
// pages once per process, PSS splits them among all sharers (including processes outside the
// tree), so a container's charge lies between the two. CPU is user + system time so far.
// nullopt if pid is gone.
struct TreeMemory {
  long rss_kib = 0;
  long pss_kib = 0;
  double cpu_seconds = 0;
  int processes = 0;
};
std::optional<TreeMemory> tree_memory(pid_t pid);

// Sends sig to pid's process group (when pid leads one and group is set) or to pid alone, waits
// up to grace for pid to go, then SIGKILLs the same target. True if it is gone afterwards.
bool stop_pid(pid_t pid, std::chrono::milliseconds grace, int sig = 15, bool group = true);

// The last max_lines lines of a log file ("" if unreadable), for error messages.
std::string tail_file(const std::string& path, int max_lines = 20);

}  // namespace rinha::stack
