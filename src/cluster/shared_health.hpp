// SharedHealth: one health poller per processor for every worker on one PostgreSQL
// (health.shared on; docs/scale-out.md, section 4). A thread of its own holds a dedicated
// connection and runs HealthPlan against it:
//  - leadership of processor p = pg_try_advisory_lock(kAdvisoryKey, p) on that connection
//    (session-level: a worker killed with kill -9 loses its session and so the lock);
//  - before each call the leader claims p's row of health_polls with a conditional UPDATE on
//    PostgreSQL's clock, so even two leaders at a hand-over never spend one interval twice;
//  - a granted call goes to the worker's loop through the HealthExchange, which also brings the
//    loop's answer back; the leader writes it into health_polls and NOTIFYs rinha_health in one
//    transaction; every worker LISTENs and feeds what the others publish to its loop, and reads
//    the table after each (re)connect;
//  - a failed statement or a broken socket drops every lead at once (no connection, no claim)
//    and the thread reconnects after a second.
// Threading: start() and the destructor from the owner's thread; the rest is the thread's.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "cluster/health_plan.hpp"
#include "common/status.hpp"
#include "common/time.hpp"
#include "health/exchange.hpp"

namespace rinha::cluster {

class SharedHealth {
 public:
  SharedHealth(std::string database_url, SharedHealthConfig cfg, const Clock& clock,
               health::HealthExchange& exchange);
  ~SharedHealth();  // stops the thread; closing its connection frees its locks
  SharedHealth(const SharedHealth&) = delete;
  SharedHealth& operator=(const SharedHealth&) = delete;

  Status start();  // the wake-up descriptor and the thread; the connection is the thread's

 private:
  struct Conn;
  void run();
  void connect(SteadyTime now);
  void turn(SteadyTime now);  // publish answers, try locks, claim slots, read notifications
  void lost(SteadyTime now, const std::string& why);
  void wait(SteadyTime until);

  const std::string url_;
  const SharedHealthConfig cfg_;
  const Clock& clock_;
  health::HealthExchange& exchange_;
  HealthPlan plan_;
  std::unique_ptr<Conn> conn_;  // the thread's
  int wake_fd_ = -1;            // eventfd: answers to publish, or stop
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Applies the health_polls table (idempotent; under an advisory transaction lock so that
// workers starting together do not race on the DDL). Exposed for tests.
const char* shared_health_schema();

}  // namespace rinha::cluster
