// Chaos: the whole stack on free ports under ~200 payments/s through HAProxy while the worker is
// killed (SIGKILL) twice (the first time with ~200 payments in flight to a 1 s-slow default) and
// an api once, each restarted with the same config and journal.
// Once settled, every payment that got a 2xx must be recorded by exactly one processor with its
// amount, none by both, and our summary must equal the processors' (counts and cents).
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <sstream>
#include <thread>
#include <vector>

#include "instrument/http/http_client.hpp"
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

void set_delay(const std::string& processor, int ms) {
  http::HttpRequest r;
  r.method = "PUT";
  r.url = processor + "/admin/configurations/delay";
  r.body = "{\"delay\":" + std::to_string(ms) + "}";
  r.headers.push_back({"X-Rinha-Token", "123"});
  auto resp = http::http_send(r);
  REQUIRE(resp.is_ok());
  REQUIRE(resp->status == 200);
}

}  // namespace

TEST_CASE("kill -9 of the worker and of an api under load: nothing lost, nothing charged twice") {
  StackFixture f(Parts::whole());
  stack::Stack& st = f.stack();
  const Endpoints ep{st.lb_url(), st.default_url(), st.fallback_url()};

  PaymentTraffic traffic(st.lb_url(), 200);
  std::this_thread::sleep_for(4s);
  // A slow default first: the first kill finds ~200 payments in flight (some on the fallback),
  // whose outcomes only the journal replay's lookups can learn.
  set_delay(st.default_url(), 1000);
  std::this_thread::sleep_for(2s);
  kill_and_restart(st, "worker", 1s);
  set_delay(st.default_url(), 0);
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
  report << "; sent " << sent.size() << ", " << *audit << "; " << *settled;
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
  // The worker really went through replays, the first one with many payments in flight.
  CHECK(replays.size() == 3);  // the first start and two restarts
  CHECK((replays.size() == 3 && replays[1] > 50));
  Status alive = st.check_alive();
  INFO(alive.message());
  CHECK(alive.is_ok());
}
