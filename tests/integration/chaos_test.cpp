// Chaos: the whole stack on free ports under ~400 payments/s through HAProxy while the worker is
// killed (SIGKILL) twice (the first time with ~400 payments in flight to a 1 s-slow default) and
// an api once, each restarted with the same config and journal. The rate is twice the volume
// asserted over half the time: the kills and their down times are what the scenario is about.
// Once settled, every payment that got a 2xx must be recorded by exactly one processor with its
// amount, none by both, and our summary must equal the processors' (counts and cents).
// The second case restarts the worker at once (twice) and an api holding payments the worker has
// not acked, with the checker's comparison sampled every 50-200 ms throughout: all must agree.
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <sstream>
#include <thread>
#include <vector>

#include "instrument/http/http_client.hpp"
#include "support/books.hpp"
#include "support/fixture.hpp"
#include "support/traffic.hpp"
#include "support/window_sampler.hpp"

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

void set_delay(const std::string& processor, int ms) {
  auto resp = http::http_send(request("PUT", processor + "/admin/configurations/delay",
                                      "{\"delay\":" + std::to_string(ms) + "}"));
  REQUIRE(resp.is_ok());
  REQUIRE(resp->status == 200);
}

pid_t pid_of(const stack::Stack& st, const std::string& name) {
  for (const auto& e : st.entries())
    if (e.name == name) return e.pid;
  return 0;
}

}  // namespace

TEST_CASE("kill -9 of the worker and of an api under load: nothing lost, nothing charged twice") {
  StackFixture f(Parts::whole());
  stack::Stack& st = f.stack();
  const Endpoints ep{st.lb_url(), st.default_url(), st.fallback_url()};

  PaymentTraffic traffic(st.lb_url(), 400);
  std::this_thread::sleep_for(2s);
  // A slow default first: the first kill finds ~400 payments in flight (some on the fallback),
  // whose outcomes only the journal replay's lookups can learn. 1 s: a full second of sends is
  // in flight at the kill.
  set_delay(st.default_url(), 1000);
  std::this_thread::sleep_for(1s);
  kill_and_restart(st, "worker", 1s);
  set_delay(st.default_url(), 0);
  std::this_thread::sleep_for(3s);
  kill_and_restart(st, "api1", 1s);
  std::this_thread::sleep_for(3s);
  kill_and_restart(st, "worker", 300ms);
  std::this_thread::sleep_for(3s);
  // A replayed payment found on neither processor is sent again only after
  // worker.reconcile_delay_ms (6 s).
  const Books b = settle_and_audit(traffic, ep, 40s);

  // "worker: journal <path>: N payments to reconcile", once per start.
  std::vector<long> replays;
  {
    std::istringstream log(stack::tail_file(f.dir().file("worker.log"), 100000));
    std::string line;
    const std::string tag = " payments to reconcile";
    while (std::getline(log, line)) {
      auto at = line.find(tag);
      if (at == std::string::npos) continue;
      auto colon = line.rfind(": ", at);
      replays.push_back(std::stol(line.substr(colon + 2, at - colon - 2)));
    }
  }
  std::ostringstream report;
  report << "chaos: replays at start";
  for (long r : replays) report << " " << r;
  report << "; sent " << b.sent.size() << ", " << b.audit << "; " << b.settled;
  std::printf("%s\n", report.str().c_str());
  INFO(report.str() << "\nworker log:\n" << stack::tail_file(f.dir().file("worker.log"), 30));

  CHECK(traffic.accepted() > 3000);
  check_books(b.audit, b.settled, traffic.accepted());
  // The worker really went through replays, the first one with many payments in flight.
  CHECK(replays.size() == 3);  // the first start and two restarts
  CHECK((replays.size() == 3 && replays[1] > 50));
  Status alive = st.check_alive();
  INFO(alive.message());
  CHECK(alive.is_ok());
}

TEST_CASE(
    "worker killed twice and restarted at once, an api killed with unacked payments: every "
    "check sampled every 50-200 ms agrees") {
  StackFixture f(Parts::whole());
  stack::Stack& st = f.stack();
  const Endpoints ep{st.lb_url(), st.default_url(), st.fallback_url()};
  PaymentTraffic traffic(st.lb_url(), 200);
  // Twice the sampling rate over half the dwell times: as many checks, around the same events.
  WindowSampler sampler(ep, 50ms, 200ms);
  std::this_thread::sleep_for(1500ms);
  set_delay(st.default_url(), 800);  // ~160 payments in flight at each kill
  for (int kill = 0; kill < 2; ++kill) {
    std::this_thread::sleep_for(2s);  // over twice the delay: the pipeline is full at the kill
    sampler.mark("kill -9 worker, restarted at once");
    REQUIRE(st.kill("worker", SIGKILL).is_ok());
    const Status s = st.restart("worker");
    INFO(s.message());
    REQUIRE(s.is_ok());
    sampler.mark("worker ready");
  }
  std::this_thread::sleep_for(2s);
  set_delay(st.default_url(), 0);
  // The worker stopped (SIGSTOP): the apis keep answering 202 from their journals, unacked.
  std::this_thread::sleep_for(1s);
  const pid_t worker = pid_of(st, "worker");
  REQUIRE(worker > 0);
  sampler.mark("SIGSTOP worker; kill -9 api1 holding unacked payments");
  REQUIRE(::kill(worker, SIGSTOP) == 0);
  std::this_thread::sleep_for(400ms);
  REQUIRE(st.kill("api1", SIGKILL).is_ok());
  REQUIRE(::kill(worker, SIGCONT) == 0);
  const Status api = st.restart("api1");
  INFO(api.message());
  REQUIRE(api.is_ok());
  sampler.mark("api1 ready");
  std::this_thread::sleep_for(2500ms);
  traffic.stop();
  const auto sent = traffic.sent();
  auto settled = wait_settled(ep, traffic.accepted(), 30s);
  REQUIRE(settled.is_ok());
  std::this_thread::sleep_for(1500ms);  // checks over the settled windows too (~12, as before)
  sampler.stop();
  auto audit = audit_payments(sent, ep);
  REQUIRE(audit.is_ok());

  const std::string api_log = stack::tail_file(f.dir().file("api1.log"), 100000);
  const bool api_replayed = api_log.find("handing off") != std::string::npos;
  std::ostringstream audit_text;
  audit_text << *audit;
  std::printf("restart consistency: %d checks, %zu disagree, %d unanswered; %s; %s\n%s",
              sampler.checks(), sampler.mismatches().size(), sampler.unanswered(),
              audit_text.str().c_str(),
              api_replayed ? "api1 replayed its journal" : "api1 had nothing to replay",
              sampler.log().c_str());
  INFO(sampler.log() << "\nworker log:\n" << stack::tail_file(f.dir().file("worker.log"), 30));
  CHECK(sampler.checks() >= 60);
  CHECK(sampler.mismatches().empty());
  check_books(*audit, *settled, traffic.accepted());
}
