// Chaos: the whole stack on free ports under ~200 payments/s through HAProxy while the worker is
// killed (SIGKILL) twice (the first time with ~200 payments in flight to a 1 s-slow default) and
// an api once, each restarted with the same config and journal.
// Once settled, every payment that got a 2xx must be recorded by exactly one processor with its
// amount, none by both, and our summary must equal the processors' (counts and cents).
// The second case restarts the worker at once (twice) and an api holding payments the worker has
// not acked, with the checker's comparison sampled every 100-400 ms throughout: all must agree.
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "common/time.hpp"
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

// The official check ([now-15 s, now-2 s], ours and the processors' queried in parallel), made
// every 100-400 ms from its own thread; every check is kept for the report.
class CheckSampler {
 public:
  explicit CheckSampler(Endpoints ep) : ep_(std::move(ep)), thread_([this] { run(); }) {}
  ~CheckSampler() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Marks the log (a kill, a restart) so the checks around it can be read in order.
  void mark(const std::string& what) {
    std::scoped_lock l(mu_);
    log_.push_back(stamp() + " ---- " + what);
  }
  int checks() const { return checks_.load(); }
  int mismatches() const { return mismatches_.load(); }
  int unanswered() const { return unanswered_.load(); }
  std::string log() {
    std::scoped_lock l(mu_);
    std::string out;
    for (const auto& line : log_) out += line + "\n";
    return out;
  }

 private:
  static std::string stamp() { return format_iso8601(SystemClock().now_utc()); }
  void run() {
    std::mt19937 rng(20251202);
    while (!stop_) {
      const int64_t now = SystemClock().now_utc().value;
      auto l = read_ledgers(ep_, std::pair{now - 15'000, now - 2'000});
      std::ostringstream line;
      line << format_iso8601(UtcMillis{now}) << " ";
      if (!l.is_ok()) {
        ++unanswered_;
        line << "UNANSWERED " << l.status().message();
      } else {
        ++checks_;
        if (!l->consistent()) ++mismatches_;
        line << *l << (l->consistent() ? "" : "  MISMATCH");
      }
      {
        std::scoped_lock lk(mu_);
        log_.push_back(line.str());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 301));
    }
  }
  Endpoints ep_;
  std::atomic<bool> stop_{false};
  std::atomic<int> checks_{0}, mismatches_{0}, unanswered_{0};
  std::mutex mu_;
  std::vector<std::string> log_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

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

  // A replayed payment found on neither processor is sent again only after
  // worker.reconcile_delay_ms (6 s).
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

TEST_CASE(
    "worker killed twice and restarted at once, an api killed with unacked payments: every "
    "check sampled every 100-400 ms agrees") {
  StackFixture f(Parts::whole());
  stack::Stack& st = f.stack();
  const Endpoints ep{st.lb_url(), st.default_url(), st.fallback_url()};
  PaymentTraffic traffic(st.lb_url(), 200);
  CheckSampler sampler(ep);
  std::this_thread::sleep_for(3s);
  set_delay(st.default_url(), 800);  // ~160 payments in flight at each kill
  for (int kill = 0; kill < 2; ++kill) {
    std::this_thread::sleep_for(4s);
    sampler.mark("kill -9 worker, restarted at once");
    REQUIRE(st.kill("worker", SIGKILL).is_ok());
    const Status s = st.restart("worker");
    INFO(s.message());
    REQUIRE(s.is_ok());
    sampler.mark("worker ready");
  }
  std::this_thread::sleep_for(4s);
  set_delay(st.default_url(), 0);
  // The worker stopped (SIGSTOP): the apis keep answering 202 from their journals, unacked.
  std::this_thread::sleep_for(2s);
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
  std::this_thread::sleep_for(5s);
  traffic.stop();
  const auto sent = traffic.sent();
  auto settled = wait_settled(ep, traffic.accepted(), 30s);
  REQUIRE(settled.is_ok());
  std::this_thread::sleep_for(3s);  // checks over the settled windows too
  sampler.stop();
  auto audit = audit_payments(sent, ep);
  REQUIRE(audit.is_ok());

  const std::string api_log = stack::tail_file(f.dir().file("api1.log"), 100000);
  const bool api_replayed = api_log.find("handing off") != std::string::npos;
  std::ostringstream audit_text;
  audit_text << *audit;
  std::printf("restart consistency: %d checks, %d disagree, %d unanswered; %s; %s\n%s",
              sampler.checks(), sampler.mismatches(), sampler.unanswered(),
              audit_text.str().c_str(),
              api_replayed ? "api1 replayed its journal" : "api1 had nothing to replay",
              sampler.log().c_str());
  INFO(sampler.log() << "\nworker log:\n" << stack::tail_file(f.dir().file("worker.log"), 30));
  CHECK(sampler.checks() >= 60);
  CHECK(sampler.mismatches() == 0);
  CHECK(audit->lost == 0);
  CHECK(audit->double_charged == 0);
  CHECK(audit->wrong_amount == 0);
  CHECK(audit->recorded == audit->accepted);
  CHECK(settled->consistent());
}
