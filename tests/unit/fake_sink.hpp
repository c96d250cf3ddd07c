// An in-memory hand-off Sink for tests of the api and the hand-off: remembers accepted payments
// (once per id), counts every one as "default" in summaries, can be told to refuse.
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "handoff/server.hpp"

namespace rinha::testing {

class FakeSink final : public handoff::Sink {
 public:
  Status accept(const std::vector<handoff::AcceptedPayment>& batch) override {
    std::lock_guard lock(mu_);
    ++batches_;
    if (refuse_) return Status::unavailable("refusing");
    for (const auto& p : batch) payments_.emplace(p.id, p);
    return Status::ok();
  }
  Result<summary::SummaryTotals> summarize(const summary::Window& w, SteadyTime) override {
    std::lock_guard lock(mu_);
    summary::SummaryTotals t;
    for (const auto& [id, p] : payments_)
      if (w.contains(p.accepted_at)) t.default_totals.add(p.amount);
    return t;
  }
  Status purge() override {
    std::lock_guard lock(mu_);
    payments_.clear();
    return Status::ok();
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return payments_.size();
  }
  int batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  void set_refuse(bool r) {
    std::lock_guard lock(mu_);
    refuse_ = r;
  }

 private:
  std::mutex mu_;
  std::map<Uuid, handoff::AcceptedPayment> payments_;
  int batches_ = 0;
  bool refuse_ = false;
};

}  // namespace rinha::testing
