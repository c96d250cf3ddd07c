// Chaos: the whole stack on free ports under ~200 payments/s through HAProxy while the worker is
// killed (SIGKILL) twice and an api once, each restarted with the same config and journal.
// Once settled, every payment that got a 2xx must be recorded by exactly one processor with its
// amount, none by both, and our summary must equal the processors' (counts and cents).
#include <catch2/catch.hpp>

#include <signal.h>

#include <cstdio>
#include <sstream>
#include <thread>

#include "support/fixture.hpp"
#include "support/traffic.hpp"

using namespace rinha;
using namespace rinha::testsupport;
using namespace std::chrono_literals;

namespace {

void kill_and_restart(stack::Stack& st, const std::string& name, std::chrono::milliseconds down) {
  INFO("kill -9 " << name);
  REQUIRE(st.kill(name, SIGKILL).is_ok());
  std::this_thread::sleep_for(down);
  Status s = st.restart(name);
  INFO("restart " << name << ": " << s.message());
  REQUIRE(s.is_ok());
}

}  // namespace

TEST_CASE("kill -9 of the worker and of an api under load: nothing lost, nothing charged twice") {
  StackFixture f(Parts::whole());
  stack::Stack& st = f.stack();
  const Endpoints ep{st.lb_url(), st.default_url(), st.fallback_url()};

  PaymentTraffic traffic(st.lb_url(), 200);
  std::this_thread::sleep_for(6s);
  kill_and_restart(st, "worker", 1s);
  std::this_thread::sleep_for(6s);
  kill_and_restart(st, "api1", 1s);
  std::this_thread::sleep_for(6s);
  kill_and_restart(st, "worker", 300ms);
  std::this_thread::sleep_for(6s);
  traffic.stop();
  const auto sent = traffic.sent();

  // A journal replay waits reconcile_delay_ms (6 s) before its first lookup.
  auto settled = wait_settled(ep, traffic.accepted(), 40s);
  REQUIRE(settled.is_ok());
  auto audit = audit_payments(sent, ep);
  REQUIRE(audit.is_ok());

  std::ostringstream report;
  report << "chaos: sent " << sent.size() << ", " << *audit << "; " << *settled;
  std::printf("%s\n", report.str().c_str());
  INFO(report.str() << "\nworker log:\n" << stack::tail_file(f.dir().file("worker.log"), 30));

  CHECK(traffic.accepted() > 3000);
  CHECK(audit->accepted == traffic.accepted());
  CHECK(audit->lost == 0);
  CHECK(audit->double_charged == 0);
  CHECK(audit->wrong_amount == 0);
  CHECK(audit->recorded == audit->accepted);
  CHECK(settled->consistent());
  // The processors hold nothing but what we sent, each once.
  CHECK(settled->processor_requests() == audit->recorded + audit->unanswered_recorded);
  // The worker really went through a replay.
  CHECK(stack::tail_file(f.dir().file("worker.log"), 400).find("payments to reconcile") !=
        std::string::npos);
  Status alive = st.check_alive();
  INFO(alive.message());
  CHECK(alive.is_ok());
}
