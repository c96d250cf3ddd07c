// HealthExchange: the mailbox between the worker's loop and the shared-health thread
// (health.shared on, cluster/shared_health.hpp). That thread grants health calls (this worker
// leads a processor and claimed its cluster-wide slot) and passes on the answers other workers
// published; the loop makes the granted calls, feeds every answer to its Tracker and hands its
// own answers back for publication.
// Threading: every method is safe from any thread; the wake-up hooks run outside the lock.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "common/processor_id.hpp"
#include "common/time.hpp"

namespace rinha::health {

struct Observation {
  Processor processor = Processor::kDefault;
  SteadyTime at{};  // when the answer was obtained (by whichever worker)
  bool failing = false;
  int min_response_ms = 0;
};

class HealthExchange {
 public:
  // Set before the threads use the exchange. wake_loop makes the loop's wait return (the
  // transport's wakeup); wake_thread the shared thread's. Unset: nobody is woken (tests poll).
  void set_loop_wakeup(std::function<void()> wake);
  void set_thread_wakeup(std::function<void()> wake);

  // Shared-health thread.
  void grant(Processor p);
  void observe(const Observation& o);
  void revoke_grants();  // leadership lost before the loop took them
  struct Answer {
    Processor processor;
    std::optional<Observation> observation;  // nullopt: the call failed (429, timeout, garbage)
  };
  std::vector<Answer> take_answers();
  void set_leader(Processor p, bool leader) { leader_[processor_index(p)].store(leader); }

  // Loop.
  struct Inbound {
    std::vector<Processor> grants;
    std::vector<Observation> observations;
  };
  Inbound take();
  void answered(Processor p, std::optional<Observation> o);
  bool leader(Processor p) const { return leader_[processor_index(p)].load(); }

 private:
  std::mutex mu_;
  std::function<void()> wake_loop_, wake_thread_;  // set before the threads start
  Inbound in_;                                     // GUARDED_BY(mu_)
  std::vector<Answer> answers_;                    // GUARDED_BY(mu_)
  std::array<std::atomic<bool>, 2> leader_{};
};

}  // namespace rinha::health
