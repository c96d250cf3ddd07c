// Fan-out aggregation: a shared tally per request, one completion per part.
#include "api/fan_out.hpp"

#include <mutex>
#include <optional>
#include <string>

namespace rinha::api {
namespace {

// What the parts of one request have answered so far; the last one calls done.
template <typename T>
struct Tally {
  std::mutex mu;
  size_t pending = 0;             // GUARDED_BY(mu)
  T sum{};                        // GUARDED_BY(mu)
  std::optional<Status> failure;  // GUARDED_BY(mu): the first part that failed
};

std::string part_name(size_t i) {
  return i == 0 ? "this node's worker" : "peer worker " + std::to_string(i);
}

class SummaryPart final : public handoff::SummaryCompletion {
 public:
  using Done = std::function<void(Result<summary::SummaryTotals>)>;
  SummaryPart(size_t index, std::shared_ptr<Tally<summary::SummaryTotals>> t,
              std::shared_ptr<Done> done)
      : index_(index), tally_(std::move(t)), done_(std::move(done)) {}
  void done(Result<summary::SummaryTotals> r) override {
    bool last = false;
    {
      std::scoped_lock lock(tally_->mu);
      if (!r.is_ok() && !tally_->failure)
        tally_->failure = Status::unavailable(part_name(index_) + ": " + r.status().message());
      if (r.is_ok()) {
        auto& s = tally_->sum;
        s.default_totals.requests += r->default_totals.requests;
        s.default_totals.amount += r->default_totals.amount;
        s.fallback_totals.requests += r->fallback_totals.requests;
        s.fallback_totals.amount += r->fallback_totals.amount;
      }
      last = --tally_->pending == 0;
    }
    if (last) {
      if (tally_->failure)
        (*done_)(*tally_->failure);
      else
        (*done_)(tally_->sum);
    }
    delete this;
  }

 private:
  size_t index_;
  std::shared_ptr<Tally<summary::SummaryTotals>> tally_;
  std::shared_ptr<Done> done_;
};

class PurgePart final : public handoff::Completion {
 public:
  using Done = std::function<void(Status)>;
  PurgePart(size_t index, std::shared_ptr<Tally<int>> t, std::shared_ptr<Done> done)
      : index_(index), tally_(std::move(t)), done_(std::move(done)) {}
  void done(Status s) override {
    bool last = false;
    {
      std::scoped_lock lock(tally_->mu);
      if (!s.is_ok() && !tally_->failure)
        tally_->failure = Status::unavailable(part_name(index_) + ": " + s.message());
      last = --tally_->pending == 0;
    }
    if (last) (*done_)(tally_->failure ? *tally_->failure : Status::ok());
    delete this;
  }

 private:
  size_t index_;
  std::shared_ptr<Tally<int>> tally_;
  std::shared_ptr<Done> done_;
};

}  // namespace

std::vector<handoff::SummaryCompletion*> summary_fan_out(
    size_t n, std::function<void(Result<summary::SummaryTotals>)> done) {
  auto tally = std::make_shared<Tally<summary::SummaryTotals>>();
  tally->pending = n;
  auto d = std::make_shared<SummaryPart::Done>(std::move(done));
  std::vector<handoff::SummaryCompletion*> parts;
  for (size_t i = 0; i < n; ++i) parts.push_back(new SummaryPart(i, tally, d));
  return parts;
}

std::vector<handoff::Completion*> purge_fan_out(size_t n, std::function<void(Status)> done) {
  auto tally = std::make_shared<Tally<int>>();
  tally->pending = n;
  auto d = std::make_shared<PurgePart::Done>(std::move(done));
  std::vector<handoff::Completion*> parts;
  for (size_t i = 0; i < n; ++i) parts.push_back(new PurgePart(i, tally, d));
  return parts;
}

}  // namespace rinha::api
