#include "support/fake_processors.hpp"

#include <algorithm>
#include <memory>
#include <string>

namespace rinha::testsupport {

using processor::Outcome;
using processor::Reply;
using std::chrono::milliseconds;

namespace {

Reply status_reply(long status, Outcome o, std::string body = {}) {
  Reply r;
  r.http_status = status;
  r.outcome = o;
  r.body = std::move(body);
  return r;
}

}  // namespace

void FakeProcessors::at(SteadyTime t, bool is_reply, std::function<void()> fn) {
  events_.push(Event{t, ++seq_, is_reply, std::move(fn)});
}

void FakeProcessors::reply_at(Processor p, SteadyTime t, Reply r, Callback cb) {
  const SteadyTime sent = clock_.now_steady();
  ++in_flight_[processor_index(p)];
  at(t, true, [this, p, t, sent, r = std::move(r), cb = std::move(cb)]() mutable {
    --in_flight_[processor_index(p)];
    r.elapsed = std::chrono::duration_cast<milliseconds>(t - sent);
    cb(r);
  });
}

void FakeProcessors::pay(Processor p, const processor::PaymentRequest& req, Callback cb) {
  const Script& s = script(p);
  const int pi = processor_index(p);
  ++posts_[pi];
  posted_[pi].push_back(req.id);
  const SteadyTime now = clock_.now_steady();
  const int jitter = s.jitter_ms > 0 ? std::uniform_int_distribution<int>(0, s.jitter_ms)(rng_) : 0;
  const SteadyTime commit = now + milliseconds(s.latency_ms + jitter);
  const SteadyTime answer = commit + milliseconds(s.reply_after_commit_ms);
  const SteadyTime deadline = now + milliseconds(s.timeout_ms);
  // The outcome is decided at the commit instant; the answer carries it (or the timeout does).
  auto outcome = std::make_shared<Reply>(status_reply(500, Outcome::kServerError));
  const bool failing = s.failing;
  at(commit, false, [this, pi, req, failing, commit, outcome] {
    if (failing) return;
    auto [it, fresh] =
        stored_[pi].try_emplace(req.id, StoredAt{req.amount, req.requested_at, commit});
    *outcome = fresh ? status_reply(200, Outcome::kOk, "{\"message\":\"payment processed\"}")
                     : status_reply(422, Outcome::kDuplicate);
  });
  ++in_flight_[pi];
  const bool timed_out = answer > deadline;
  const SteadyTime t = timed_out ? deadline : answer;
  at(t, true, [this, pi, now, t, timed_out, outcome, cb = std::move(cb)] {
    --in_flight_[pi];
    Reply r = timed_out ? status_reply(0, Outcome::kTimeout) : *outcome;
    r.elapsed = std::chrono::duration_cast<milliseconds>(t - now);
    cb(r);
  });
}

void FakeProcessors::lookup(Processor p, const Uuid& id, int timeout_ms, Callback cb) {
  const int pi = processor_index(p);
  ++lookups_[pi];
  const Script& s = script(p);
  const SteadyTime sent = clock_.now_steady();
  const bool timed_out = s.lookup_reach_ms + s.lookup_ms > timeout_ms;
  const SteadyTime t =
      sent + milliseconds(timed_out ? timeout_ms : s.lookup_reach_ms + s.lookup_ms);
  ++in_flight_[pi];
  // The processor reads its table when the request reaches it: with no reach lag, within the
  // millisecond it was sent in (so a commit later in that millisecond is not seen).
  auto answer = std::make_shared<Reply>(status_reply(0, Outcome::kTimeout));
  auto read = [this, pi, id, answer] {
    auto it = stored_[pi].find(id);
    *answer = it == stored_[pi].end()
                  ? status_reply(404, Outcome::kNotFound)
                  : status_reply(
                        200, Outcome::kOk,
                        processor::payment_json({id, it->second.amount, it->second.requested_at}));
  };
  if (!timed_out) {
    if (s.lookup_reach_ms == 0)
      read();
    else
      at(sent + milliseconds(s.lookup_reach_ms), false, read);
  }
  at(t, true, [this, pi, t, sent, answer, cb = std::move(cb)] {
    --in_flight_[pi];
    Reply r = *answer;
    r.elapsed = std::chrono::duration_cast<milliseconds>(t - sent);
    cb(r);
  });
}

void FakeProcessors::health(Processor p, int timeout_ms, Callback cb) {
  ++health_calls_[processor_index(p)];
  const Script& s = script(p);
  const SteadyTime t = clock_.now_steady() + milliseconds(std::min(s.lookup_ms, timeout_ms));
  reply_at(p, t,
           status_reply(200, Outcome::kOk,
                        std::string("{\"failing\":") + (s.failing ? "true" : "false") +
                            ",\"minResponseTime\":" + std::to_string(s.min_response_ms) + "}"),
           std::move(cb));
}

void FakeProcessors::run_once(int max_wait_ms) {
  const SteadyTime now = clock_.now_steady();
  SteadyTime until = now + milliseconds(std::max(1, max_wait_ms));
  if (!events_.empty() && events_.top().at <= now) until = now;  // something due: no waiting
  if (!events_.empty()) until = std::max(now, std::min(until, events_.top().at));
  clock_.advance(std::chrono::duration_cast<milliseconds>(until - now));
  while (!events_.empty() && events_.top().at <= clock_.now_steady()) {
    Event e = events_.top();
    events_.pop();
    e.fn();
  }
}

void FakeProcessors::drop_pending_replies() {
  std::vector<Event> keep;
  while (!events_.empty()) {
    Event e = events_.top();
    events_.pop();
    if (!e.is_reply) keep.push_back(std::move(e));
  }
  for (auto& e : keep) events_.push(std::move(e));
  in_flight_ = {0, 0};
}

void FakeProcessors::store(Processor p, const Uuid& id, Cents amount, UtcMillis requested_at) {
  stored_[processor_index(p)][id] = StoredAt{amount, requested_at, clock_.now_steady()};
}

summary::SummaryTotals FakeProcessors::summary(const summary::Window& w) const {
  summary::SummaryTotals t;
  for (const auto& [id, s] : stored_[0])
    if (w.contains(s.requested_at)) t.default_totals.add(s.amount);
  for (const auto& [id, s] : stored_[1])
    if (w.contains(s.requested_at)) t.fallback_totals.add(s.amount);
  return t;
}

std::optional<StoredAt> FakeProcessors::stored(Processor p, const Uuid& id) const {
  auto it = stored_[processor_index(p)].find(id);
  if (it == stored_[processor_index(p)].end()) return std::nullopt;
  return it->second;
}

}  // namespace rinha::testsupport
