// health.shared on (docs/scale-out.md, section 4) with real processes: PostgreSQL, both
// processor emulators and three rinhad workers started together on one database. One worker
// leads each processor's polls, the others receive its answers; the default's leader is killed
// with kill -9 and another takes the lead within a few seconds and publishes the next answer.
// Counted on the emulators: never more than 1 health call per 5 s per processor in total.
#include <signal.h>

#include <catch2/catch.hpp>
#include <optional>
#include <thread>

#include "instrument/http/http_client.hpp"
#include "instrument/stack/components.hpp"
#include "instrument/stack/net.hpp"
#include "support/fixture.hpp"
#include "support/traffic.hpp"

using namespace rinha;
using namespace rinha::testsupport;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Worker {
  stack::Process proc;
  std::string metrics_url;
};

std::string proc_label(const char* name, const char* processor) {
  return std::string(name) + "{processor=\"" + processor + "\"}";
}

}  // namespace

TEST_CASE("shared health: one poller per processor for three workers, leader killed -9") {
  StackFixture fx(Parts{true, true, false, false, false});
  stack::Stack& st = fx.stack();
  const auto loc = test_locations();
  const auto started = Clock::now();
  std::vector<Worker> workers;
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    stack::RinhadWiring w{"unix:" + fx.dir().file("worker" + n + ".sock"), st.default_url(),
                          st.fallback_url(), st.database_url(), fx.dir().file("journal" + n)};
    stack::ProcessSpec spec = stack::worker_spec(loc, w, fx.dir().file("worker" + n + ".log"));
    const std::string metrics = stack::loopback_address(stack::free_port());
    spec.argv.insert(spec.argv.end(), {"--health.shared", "on", "--health.shared_retry_ms", "200",
                                       "--worker.metrics_listen", metrics});
    auto p = stack::Process::start(spec);
    REQUIRE(p.is_ok());
    workers.push_back(Worker{std::move(p).value(), "http://" + metrics + "/metrics"});
  }
  for (auto& w : workers) {
    INFO(stack::tail_file(w.proc.log_path()));
    REQUIRE(stack::wait_http_ok(w.metrics_url, 30s, [&] { return w.proc.alive(); }).is_ok());
  }

  const auto leaders = [&](const char* processor) {
    std::vector<size_t> out;
    for (size_t i = 0; i < workers.size(); ++i)
      if (workers[i].proc.alive() &&
          metric_sample(workers[i].metrics_url,
                        proc_label("rinha_worker_health_leader", processor)) == 1.0)
        out.push_back(i);
    return out;
  };
  const auto answers_in = [&](size_t i, const char* processor) {
    return metric_sample(workers[i].metrics_url,
                         proc_label("rinha_worker_health_shared_answers_total", processor))
        .value_or(-1);
  };

  // One leader per processor; every other worker received its first answer.
  for (const char* processor : {"default", "fallback"}) {
    INFO(processor);
    REQUIRE(eventually(5s, [&] { return leaders(processor).size() == 1; }));
    const size_t leader = leaders(processor)[0];
    for (size_t i = 0; i < workers.size(); ++i)
      if (i != leader) CHECK(eventually(3s, [&] { return answers_in(i, processor) >= 1; }));
  }

  // kill -9 the default's leader: its session ends, its lock goes with it.
  const size_t victim = leaders("default")[0];
  std::vector<size_t> others;
  for (size_t i = 0; i < workers.size(); ++i)
    if (i != victim) others.push_back(i);
  const double before = answers_in(others[0], "default") + answers_in(others[1], "default");
  REQUIRE(::kill(workers[victim].proc.pid(), SIGKILL) == 0);
  const auto killed_at = Clock::now();
  REQUIRE(eventually(3s, [&] { return leaders("default").size() == 1; }));
  CHECK(Clock::now() - killed_at < 2s);
  const size_t heir = leaders("default")[0];
  CHECK(heir != victim);
  // The heir polls once the dead leader's slot is over and publishes: the follower hears it.
  const size_t follower = heir == others[0] ? others[1] : others[0];
  CHECK(eventually(
      7s, [&] { return answers_in(follower, "default") + answers_in(heir, "default") > before; }));

  // The budget, counted where it is spent.
  const auto elapsed_s =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count() /
      1000.0;
  const int budget = static_cast<int>(elapsed_s / 5.0) + 1;
  for (const auto& base : {st.default_url(), st.fallback_url()}) {
    auto calls = health_calls(base);
    REQUIRE(calls.has_value());
    INFO(base << ": " << calls->received << " calls in " << elapsed_s << " s, budget " << budget);
    if (base == st.default_url()) CHECK(calls->received >= 2);  // the first leader's and the heir's
    CHECK(calls->received <= budget);
    CHECK(calls->rejected == 0);
  }
  for (size_t i : others) CHECK(workers[i].proc.alive());
}
