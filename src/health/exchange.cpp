// HealthExchange: two queues under one mutex; wake-ups after the lock is released.
#include "health/exchange.hpp"

#include <utility>

namespace rinha::health {

void HealthExchange::set_loop_wakeup(std::function<void()> wake) {
  std::scoped_lock lock(mu_);
  wake_loop_ = std::move(wake);
}

void HealthExchange::set_thread_wakeup(std::function<void()> wake) {
  std::scoped_lock lock(mu_);
  wake_thread_ = std::move(wake);
}

void HealthExchange::grant(Processor p) {
  std::function<void()> wake;
  {
    std::scoped_lock lock(mu_);
    in_.grants.push_back(p);
    wake = wake_loop_;
  }
  if (wake) wake();
}

void HealthExchange::observe(const Observation& o) {
  std::function<void()> wake;
  {
    std::scoped_lock lock(mu_);
    in_.observations.push_back(o);
    wake = wake_loop_;
  }
  if (wake) wake();
}

void HealthExchange::revoke_grants() {
  std::scoped_lock lock(mu_);
  in_.grants.clear();
}

std::vector<HealthExchange::Answer> HealthExchange::take_answers() {
  std::scoped_lock lock(mu_);
  return std::exchange(answers_, {});
}

HealthExchange::Inbound HealthExchange::take() {
  std::scoped_lock lock(mu_);
  return std::exchange(in_, {});
}

void HealthExchange::answered(Processor p, std::optional<Observation> o) {
  std::function<void()> wake;
  {
    std::scoped_lock lock(mu_);
    answers_.push_back(Answer{p, o});
    wake = wake_thread_;
  }
  if (wake) wake();
}

}  // namespace rinha::health
