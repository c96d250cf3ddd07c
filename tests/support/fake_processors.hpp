// FakeProcessors: a scripted, in-memory processor::Transport for the two payment processors on a
// ManualClock, so the worker's dispatcher runs in tests with no socket and no sleep. Each
// processor follows its Script: a POST is committed latency_ms (+ jitter) after it is sent (422 if
// the id is already stored, nothing stored while failing) and answered reply_after_commit_ms later;
// a request that would take longer than timeout_ms ends as kTimeout at timeout_ms while the
// processor still commits it (what curl sees of a slow processor). Lookups read what is
// committed lookup_reach_ms after they are sent (0: within that millisecond) and answer
// lookup_ms after that read; health calls answer after lookup_ms.
// It is also the consistency oracle: summary() is what the processors' admin summaries would
// say now (committed payments, by the requestedAt each stored).
// Time moves only in run_once(): to the next scripted event, at most max_wait_ms ahead (at
// least 1 ms, so a caller that asks for no wait still advances).
// Threading: one thread (the test's), like the dispatcher loop it drives.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <unordered_map>
#include <vector>

#include "common/time.hpp"
#include "processor/transport.hpp"
#include "summary/summary.hpp"

namespace rinha::testsupport {

struct Script {
  int latency_ms = 10;            // POST sent -> committed (or 500 while failing)
  int jitter_ms = 0;              // + uniform [0, this] per POST (a database under load)
  int reply_after_commit_ms = 0;  // committed -> answer leaves
  bool failing = false;           // POSTs answer 500 and store nothing; health says failing
  int min_response_ms = 0;        // health's minResponseTime
  int timeout_ms = 2000;          // our POST timeout
  int lookup_ms = 1;              // GET answers this long after they are sent (past its timeout:
                                  // kTimeout at the timeout)
  // A GET reads the table this long after it is sent: what a summary-time lookup lags behind
  // the checker's own admin query (our summary's path through the load balancer and the api,
  // the worker's turn, then the GET's hop). Its answer leaves lookup_ms after that read.
  int lookup_reach_ms = 0;
  int capacity = 64;  // Transport::capacity
};

struct StoredAt {
  Cents amount;
  UtcMillis requested_at;
  SteadyTime committed;
};

class FakeProcessors final : public processor::Transport {
 public:
  explicit FakeProcessors(ManualClock& clock) : clock_(clock) {}

  Script& script(Processor p) { return scripts_[processor_index(p)]; }
  // The jitter's random source: fixed unless a test reseeds it, so runs repeat exactly.
  void seed(uint64_t s) { rng_.seed(s); }

  // processor::Transport
  void pay(Processor p, const processor::PaymentRequest& req, Callback cb) override;
  void lookup(Processor p, const Uuid& id, int timeout_ms, Callback cb) override;
  void health(Processor p, int timeout_ms, Callback cb) override;
  void run_once(int max_wait_ms) override;
  void wakeup() override {}
  int in_flight(Processor p) const override { return in_flight_[processor_index(p)]; }
  int capacity(Processor p) const override { return script(p).capacity; }

  // The worker died (kill -9): answers still on their way are lost; commits still happen.
  void drop_pending_replies();
  // Records a payment as if some earlier process had sent it.
  void store(Processor p, const Uuid& id, Cents amount, UtcMillis requested_at);

  // Oracle: what processor p's admin summary would count now, per window.
  summary::SummaryTotals summary(const summary::Window& w = {}) const;
  std::optional<StoredAt> stored(Processor p, const Uuid& id) const;
  size_t stored_count(Processor p) const { return stored_[processor_index(p)].size(); }
  int posts(Processor p) const { return posts_[processor_index(p)]; }
  int lookups(Processor p) const { return lookups_[processor_index(p)]; }
  int health_calls(Processor p) const { return health_calls_[processor_index(p)]; }
  // Ids POSTed to p, in order.
  const std::vector<Uuid>& posted(Processor p) const { return posted_[processor_index(p)]; }

 private:
  struct Event {
    SteadyTime at;
    uint64_t seq;
    bool is_reply;  // answers to the worker; commits are the processor's own work
    std::function<void()> fn;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };
  const Script& script(Processor p) const { return scripts_[processor_index(p)]; }
  void at(SteadyTime t, bool is_reply, std::function<void()> fn);
  // Answers cb at t (in_flight counted until then).
  void reply_at(Processor p, SteadyTime t, processor::Reply r, Callback cb);

  ManualClock& clock_;
  std::array<Script, 2> scripts_{};
  std::array<std::unordered_map<Uuid, StoredAt, UuidHash>, 2> stored_;
  std::array<int, 2> in_flight_{0, 0};
  std::array<int, 2> posts_{0, 0};
  std::array<int, 2> lookups_{0, 0};
  std::array<int, 2> health_calls_{0, 0};
  std::array<std::vector<Uuid>, 2> posted_;
  std::priority_queue<Event, std::vector<Event>, Later> events_;
  uint64_t seq_ = 0;
  std::mt19937_64 rng_{1};
};

}  // namespace rinha::testsupport
