// WindowSampler: the official check [now-15 s, now-2 s] repeated on its own thread.
#include "support/window_sampler.hpp"

#include <random>
#include <sstream>

#include "common/time.hpp"

namespace rinha::testsupport {

WindowSampler::WindowSampler(Endpoints e, std::chrono::milliseconds min_period,
                             std::chrono::milliseconds max_period)
    : e_(std::move(e)),
      min_period_(min_period),
      max_period_(max_period),
      thread_([this] { run(); }) {}

WindowSampler::~WindowSampler() { stop(); }

void WindowSampler::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void WindowSampler::mark(const std::string& what) {
  const std::string line = format_iso8601(SystemClock().now_utc()) + " ---- " + what;
  std::scoped_lock l(mu_);
  log_.push_back(line);
}

std::vector<std::string> WindowSampler::mismatches() {
  std::scoped_lock l(mu_);
  return mismatches_;
}

std::vector<std::string> WindowSampler::unanswered_reads() {
  std::scoped_lock l(mu_);
  return unanswered_reads_;
}

std::string WindowSampler::log() {
  std::scoped_lock l(mu_);
  std::string out;
  for (const auto& line : log_) out += line + "\n";
  return out;
}

void WindowSampler::run() {
  std::mt19937 rng(20251202);
  std::uniform_int_distribution<int64_t> period(min_period_.count(), max_period_.count());
  while (!stop_) {
    const int64_t now = SystemClock().now_utc().value;
    auto l = read_ledgers(e_, std::pair{now - 15'000, now - 2'000});
    std::ostringstream line;
    line << format_iso8601(UtcMillis{now}) << ": ";
    bool mismatch = false;
    const bool unanswered = !l.is_ok();
    if (unanswered) {
      ++unanswered_;
      line << "UNANSWERED " << l.status().message();
    } else {
      ++checks_;
      mismatch = !l->consistent();
      line << *l << (mismatch ? "  MISMATCH" : "");
    }
    {
      std::scoped_lock lk(mu_);
      if (mismatch) mismatches_.push_back(line.str());
      if (unanswered) unanswered_reads_.push_back(line.str());
      log_.push_back(line.str());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(period(rng)));
  }
}

}  // namespace rinha::testsupport
