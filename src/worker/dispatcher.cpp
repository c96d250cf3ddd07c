// The worker's scheduling loop: queue -> router -> processor client -> ledger, with health polls,
// lookups of uncertain outcomes, retries with backoff and purge. Config keys (via
// DispatcherConfig): router.* (stale_after_ms among them), retry.*, health.*, and
// worker.reconcile_delay_ms / replay_recheck_ms / summary_wait_ms for the restart.
//
// CONSISTENCY (why requestedAt is stamped in the future). The checker compares, at an instant Q,
// the processors' count of payments with requestedAt in [Q-15 s, Q-2 s] (a payment counts there
// from its commit C) with ours (a payment counts here from its 200, a few ms after C). The two
// can only differ for a payment whose C or 200 falls within the few ms around Q while its
// requestedAt R <= Q-2 s, i.e. C - R >= ~2 s. Waiting in the summary for open payments' 200s
// does not help (one answered during the wait may have been committed after the processor's
// snapshot, and the checker queries the processors and us in parallel); see PROBES below.
// So R = send time + expected latency E + margin, where E = max(fresh health minResponseTime,
// EWMA of observed latency, age of the oldest POST still in flight to that processor). Then
// C - R ~ actual latency - E - margin: a straddle needs the latency to exceed our estimate by
// ~2 s, which only a sudden delay jump of >= 2 s can do to the few payments sent before the
// oldest in-flight age reveals it; the router also moves traffic off a default slower than
// router.slow_default_ms, and the in-flight cap keeps us below the processor's 800 permits so
// its limiter never queues our requests. R later than C is harmless (the payment enters both
// windows together at R + 2 s); its only cost is that a payment committed within E + margin of
// the very end of a test, when E overshoots, falls after the final window.
// A latency step larger than ~2 s would defeat E for the payments sent before it shows; so once
// a POST outlives its stamp by stale_after_ms, no new payment goes to that processor until its
// answers bring E up to date: the exposed payments are those sent within E + stale_after_ms of
// the step, not the ~slow_default_ms it takes the oldest-in-flight age to move the router.
// RESTART. Each send is journaled (processor, requestedAt) before it leaves; a restarted worker
// looks those payments up on both processors at once and every replay_recheck_ms (they stay
// open outcomes, so summaries probe them, below).
// AS OF. A summary answers as of the instant the api received it (asked_at, carried in the
// hand-off frame): the checker queries the processors in parallel with us, so a 200 that
// settled while the request crossed the api and the hand-off (tens of ms on a loaded core) was
// a commit the processors' query had not seen either. recent_ keeps the last kRecentMs of
// settlements for that.
// PROBES (the summary-time grace, decided by simulation: worker_test's randomized soak, with
// our summary and its lookups 2 ms behind the checker). An open outcome whose requestedAt lies
// in the window is either (a) a POST its processor may still be working on, or (b) one only a
// lookup can settle: in flight past its processor's reported delay + worker.probe_after_ms (a
// commit answered late), timed out or reset, awaiting a lookup, replayed after a restart.
// (a) is left to its 200, which follows the commit within a millisecond; (b) is looked up at
// once (GET /payments/{id}, both processors for a replayed one) while the summary waits
// (worker.summary_wait_ms), and the answer is the ledger as of asked_at plus what the lookups
// found. A lookup reaches the processor after the checker's query (its lag: 2 ms quiet, tens of
// ms on a loaded core when many are asked), so a commit in between is counted by us only:
// measured on the large-steps timeline with checks every 250 ms, probing every open payment
// disagreed in 4 of 468 checks (27 payments; the summary took 40-100 ms), this split with
// as-of in 3 of 465 (6 payments: a step's commits met by a lookup or a 200 at the check instant;
// a residual no stamp chosen at send time can remove). A POST found absent past that point (its
// processor is in a delay it has not reported yet) is left to its 200 again until twice as old,
// so lookups avoid its commit.
// Without probes at all the soak disagreed in 60 of ~2,000 checks (late answers after commit,
// replays whose round was not due yet). probe_reserve keeps connections free for lookups.
// Summaries count the open payments whose R lies inside the asked window ("ambiguous") so that a
// run shows whether the guarantee was ever at risk.
//
// UNCERTAIN OUTCOMES. Timeout/reset after sending, 5xx (an unknown implementation may have
// inserted) and 422 all lead to GET /payments/{id} on the same processor before anything else:
// found -> settle with what the processor stored (its amount and requestedAt); 404 -> proven
// absent, the payment may be sent anywhere again. A payment is never in flight at two
// processors, and nothing uncertain is ever counted.
#include "worker/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace rinha::worker {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

namespace {

constexpr std::array<Processor, 2> kBoth{Processor::kDefault, Processor::kFallback};

health::Signal signal_of(processor::Outcome o) {
  using processor::Outcome;
  switch (o) {
    case Outcome::kOk:
    case Outcome::kDuplicate:
      return health::Signal::kSuccess;
    case Outcome::kServerError:
    case Outcome::kTimeout:
    case Outcome::kReset:
    case Outcome::kConnectFailed:
      return health::Signal::kFailure;
    default:
      return health::Signal::kNeutral;
  }
}

int64_t ms_between(SteadyTime a, SteadyTime b) {
  return duration_cast<milliseconds>(b - a).count();
}

}  // namespace

DispatcherConfig dispatcher_config(const config::Config& cfg) {
  DispatcherConfig d;
  d.router.fallback_after_ms = cfg.router.fallback_after_ms;
  d.router.slow_default_ms = cfg.router.slow_default_ms;
  d.router.probe_hold_ms = cfg.router.probe_hold_ms;
  d.backoff = router::BackoffConfig{cfg.retry.backoff_base_ms, cfg.retry.backoff_cap_ms,
                                    cfg.retry.max_attempts};
  d.health.interval_ms = cfg.health.interval_ms;
  d.health.breaker_errors = cfg.health.breaker_errors;
  d.health.probe_interval_ms = cfg.health.probe_interval_ms;
  d.health.polls = cfg.health.shared == config::OnOff::kOff;
  d.requested_at_margin_ms = cfg.router.requested_at_margin_ms;
  d.stale_after_ms = cfg.router.stale_after_ms;
  d.recheck_ms = cfg.retry.recheck_ms;
  d.reconcile_delay_ms = cfg.worker.reconcile_delay_ms;
  d.probe_after_ms = cfg.worker.probe_after_ms;
  d.replay_recheck_ms = cfg.worker.replay_recheck_ms;
  d.summary_wait_ms = cfg.worker.summary_wait_ms;
  d.claim_ids = cfg.cluster.node != 0;
  return d;
}

Dispatcher::Dispatcher(DispatcherConfig cfg, const Clock& clock, processor::Transport& transport,
                       ledger::Ledger& ledger, std::mutex& ledger_mu, ledger::LedgerWriter& writer,
                       Stats& stats, handoff::Journal* journal, ledger::Store* edge_store,
                       health::HealthExchange* shared_health)
    : cfg_(cfg),
      clock_(clock),
      client_(transport),
      ledger_(ledger),
      ledger_mu_(ledger_mu),
      writer_(writer),
      stats_(stats),
      journal_(journal),
      edge_store_(edge_store),
      shared_health_(shared_health),
      tracker_([&] {
        health::HealthConfig h = cfg.health;
        h.polls = h.polls && shared_health == nullptr;
        return h;
      }()) {}

// ---- hand-off thread -------------------------------------------------------------------------

// OLD IDS. An id folded out of the ledger's memory is known only to the store. Sending it again
// could charge it twice (on the other processor) and count it twice here: ask the store first,
// off the POST path (the api has already answered). Asked per hand-off frame (1-2 payments at
// load), that was a PostgreSQL round trip per frame, most of PostgreSQL's CPU per POST; so the
// ids wait up to old_check_linger_ms for one query shared with every frame accepted meanwhile,
// on a thread of their own, and the frame is acked at once (journaled first; an id found
// stored is settled there). A payment forwards that much later; its requestedAt is stamped at
// send, so nothing else moves. Not a Bloom filter of the folded ids: the store is the record
// of every node and of every earlier run, so a complete filter means reading every id ever
// stored at each start and memory growing with history. If the query fails, the ids go on
// unchecked (counted) and the store is left alone for a second: a database that is down holds
// nothing back beyond the linger.
// CLAIMS (cluster mode; docs/scale-out.md, 3). The same id accepted by two nodes would be sent by
// both, perhaps to different processors: charged twice, which no 422 reveals. So every id goes
// through the same stage as the old ids: journaled and acked at once, then claimed in
// payment_claims by one statement per linger for every frame of every api (a claim per frame on
// the hand-off thread, in a CPU-throttled node, put its acks seconds behind and the apis resent
// whole pipelines). Ids another node claimed first are dropped and settled in the journal
// (that node forwards them); ours (new, or claimed by this node before a crash) go on, to the
// old-id query first when the ledger may have forgotten them. No claim, no send: a failed claim
// keeps the ids waiting (retried after a second; the journal holds them across a restart,
// which claims them again), never drops them.
Status Dispatcher::accept(const std::vector<handoff::AcceptedPayment>& batch) {
  // Journal first: once the api answers 2xx the payment must survive a crash of this process.
  if (journal_) {
    Status s = journal_->append_accepted(batch);
    if (!s.is_ok()) {
      spdlog::error("journal append failed, batch refused: {}", s.message());
      return s;
    }
  }
  std::vector<handoff::AcceptedPayment> known, unknown;
  {
    std::scoped_lock lock(ledger_mu_);
    const bool check = cfg_.claim_ids || (edge_store_ && ledger_.may_have_forgotten());
    for (const auto& a : batch) (check && !ledger_.contains(a.id) ? unknown : known).push_back(a);
  }
  hold_for_check(std::move(unknown), clock_.now_steady());
  if (!known.empty()) {
    std::scoped_lock lock(inbox_mu_);
    inbox_.insert(inbox_.end(), known.begin(), known.end());
  }
  stats_.accepted.fetch_add(static_cast<int64_t>(batch.size()));
  if (!known.empty()) client_.wakeup();
  return Status::ok();
}

void Dispatcher::hold_for_check(std::vector<handoff::AcceptedPayment> batch, SteadyTime now) {
  if (batch.empty()) return;
  bool wake;
  {
    std::scoped_lock lock(inbox_mu_);
    // The check's thread sleeps untimed only while nothing waits: woken for the first id (then
    // it times the linger itself) or a full query, not per frame.
    wake = unchecked_.empty() || unchecked_.size() + batch.size() >= cfg_.old_check_max;
    if (unchecked_.empty()) unchecked_since_ = now;
    checking_ += batch.size();
    unchecked_.insert(unchecked_.end(), batch.begin(), batch.end());
  }
  if (wake) check_cv_.notify_one();
}

// ---- old-duplicate check and claims (a thread of their own) -----------------------------------

bool Dispatcher::claims_paused(SteadyTime now) const {
  return cfg_.claim_ids && now < claim_retry_at_;
}

int Dispatcher::check_old_ids() {
  const SteadyTime now = clock_.now_steady();
  std::vector<handoff::AcceptedPayment> batch;
  uint64_t epoch;
  bool stopping;
  {
    std::scoped_lock lock(inbox_mu_);
    if (unchecked_.empty()) return -1;
    stopping = stop_.load();
    // Rounded up: a wait rounded down would end before its instant and wait again.
    auto until = [&](SteadyTime t) {
      return static_cast<int>(std::chrono::ceil<milliseconds>(t - now).count());
    };
    if (!stopping && claims_paused(now)) return until(claim_retry_at_);
    const SteadyTime due = unchecked_since_ + milliseconds(cfg_.old_check_linger_ms);
    if (now < due && unchecked_.size() < cfg_.old_check_max && !stopping) return until(due);
    batch.swap(unchecked_);
    epoch = epoch_.load();
  }
  const size_t taken = batch.size();
  std::vector<Uuid> dropped;  // claimed elsewhere or stored already: settled here
  if (cfg_.claim_ids) {
    auto owned = claim_held(batch, now);
    if (!owned.is_ok()) {
      hold_again(std::move(batch), epoch, stopping, now);
      return 0;
    }
    std::vector<handoff::AcceptedPayment> mine;
    mine.reserve(batch.size());
    for (const auto& a : batch) {
      if (owned->count(a.id))
        mine.push_back(a);
      else
        dropped.push_back(a.id);
    }
    batch.swap(mine);
    stats_.claimed_elsewhere.fetch_add(static_cast<int64_t>(dropped.size()));
  }
  const std::unordered_set<Uuid, UuidHash> old = stored_among(batch, now);
  int64_t old_dropped = 0;
  bool passed = false;
  {
    std::scoped_lock lock(inbox_mu_);
    for (const auto& a : batch) {
      if (old.count(a.id)) {
        dropped.push_back(a.id);
        ++old_dropped;
      } else if (epoch_.load() == epoch) {  // else a purge since dropped them
        inbox_.push_back(a);
        passed = true;
      }
    }
    checking_ -= taken;
  }
  if (passed) client_.wakeup();
  if (!dropped.empty()) {
    stats_.old_duplicates.fetch_add(old_dropped);
    stats_.duplicates_ignored.fetch_add(static_cast<int64_t>(dropped.size()));
    if (journal_) {
      Status s = journal_->append_settled(dropped);
      if (!s.is_ok()) spdlog::warn("journal: settle record failed: {}", s.message());
    }
  }
  return 0;
}

// CLAIMS: one statement for every id taken; the ids this node owns.
Result<std::unordered_set<Uuid, UuidHash>> Dispatcher::claim_held(
    const std::vector<handoff::AcceptedPayment>& batch, SteadyTime now) {
  std::vector<Uuid> ids;
  ids.reserve(batch.size());
  for (const auto& a : batch) ids.push_back(a.id);
  Result<std::vector<Uuid>> owned = Status::unavailable("no store to claim in");
  if (edge_store_) {
    std::scoped_lock lock(store_mu_);
    owned = edge_store_->claim(ids);
  }
  stats_.claim_statements.fetch_add(1);
  if (!owned.is_ok()) {
    spdlog::warn("claims failed for {} payments, retried in a second: {}", ids.size(),
                 owned.status().message());
    claim_retry_at_ = now + std::chrono::seconds(1);
    stats_.claim_failures.fetch_add(1);
    return owned.status();
  }
  return std::unordered_set<Uuid, UuidHash>(owned->begin(), owned->end());
}

// A failed claim: the ids wait again, ahead of those accepted since (none is sent unclaimed).
// Stopping, they are left to the journal: the next start claims them (RESTART).
void Dispatcher::hold_again(std::vector<handoff::AcceptedPayment> batch, uint64_t epoch,
                            bool stopping, SteadyTime now) {
  std::scoped_lock lock(inbox_mu_);
  if (stopping || epoch_.load() != epoch) {
    if (stopping)
      spdlog::warn("worker: stopping with {} payments unclaimed, left to the journal",
                   batch.size());
    checking_ -= batch.size();
    return;
  }
  if (unchecked_.empty()) unchecked_since_ = now;
  unchecked_.insert(unchecked_.begin(), batch.begin(), batch.end());
}

// OLD IDS: those of batch the store already holds (one query for all; none asked when the
// ledger forgets nothing or the store rests after a failure).
std::unordered_set<Uuid, UuidHash> Dispatcher::stored_among(
    const std::vector<handoff::AcceptedPayment>& batch, SteadyTime now) {
  std::vector<Uuid> ids;
  {
    std::scoped_lock lock(ledger_mu_);
    if (!edge_store_ || !ledger_.may_have_forgotten()) return {};
    for (const auto& a : batch)
      if (!ledger_.contains(a.id)) ids.push_back(a.id);
  }
  if (ids.empty()) return {};
  // After a failure the store is left alone for a second: ids must not wait on reconnects.
  Result<std::vector<Uuid>> found = Status::unavailable("backoff");
  if (now >= old_check_retry_at_) {
    std::scoped_lock lock(store_mu_);
    found = edge_store_->stored_ids(ids);
  }
  if (found.is_ok()) return {found->begin(), found->end()};
  if (now >= old_check_retry_at_) {
    spdlog::warn("old-duplicate check skipped for {} payments: {}", ids.size(),
                 found.status().message());
    old_check_retry_at_ = now + std::chrono::seconds(1);
  }
  stats_.old_unchecked.fetch_add(static_cast<int64_t>(ids.size()));
  return {};
}

void Dispatcher::run_old_id_checks() {
  while (true) {
    const int wait = check_old_ids();
    if (wait == 0) continue;
    // Only this thread moves claim_retry_at_: while claims pause, a full query cannot start.
    const bool paused = claims_paused(clock_.now_steady());
    std::unique_lock lock(inbox_mu_);
    if (stop_.load() && unchecked_.empty()) return;
    auto ready = [&] {
      return stop_.load() || (!paused && unchecked_.size() >= cfg_.old_check_max) ||
             (wait < 0 && !unchecked_.empty());
    };
    if (wait < 0)
      check_cv_.wait(lock, ready);
    else
      check_cv_.wait_for(lock, milliseconds(wait), ready);
  }
}

// ---- hand-off thread: summaries and purge -----------------------------------------------------

// SteadyTime{} (no instant given) is now; one older than recent_ reaches is its oldest.
SteadyTime Dispatcher::as_of(SteadyTime asked_at, SteadyTime now) {
  if (asked_at == SteadyTime{}) return now;
  return std::clamp(asked_at, now - milliseconds(kRecentMs), now);
}

ledger::SummaryResult Dispatcher::summarize_as_of(const summary::Window& w,
                                                  SteadyTime asked_at) const {
  ledger::SummaryResult r = ledger_.summarize(w);
  for (auto it = recent_.rbegin(); it != recent_.rend() && it->settled > asked_at; ++it) {
    if (it->look_up_after <= asked_at || !w.contains(it->e.requested_at)) continue;
    auto& t =
        it->e.processor == Processor::kDefault ? r.totals.default_totals : r.totals.fallback_totals;
    t.requests -= 1;
    t.amount = Cents{t.amount.value - it->e.amount.value};
    ++r.ambiguous;  // it was open then
  }
  return r;
}

std::optional<uint64_t> Dispatcher::start_probe(const summary::Window& w, SteadyTime asked_at) {
  Probe probe;
  const SteadyTime now = clock_.now_steady();
  asked_at = as_of(asked_at, now);
  int64_t waiting = 0;
  {
    std::scoped_lock lock(ledger_mu_);
    probe.ids = ledger_.open_in(w, asked_at, &waiting);
    if (!probe.ids.empty()) probe.first = summarize_as_of(w, asked_at);
  }
  stats_.summary_lookup_skipped.fetch_add(waiting);
  if (probe.ids.empty()) return std::nullopt;
  probe.started = now;
  stats_.summary_waits.fetch_add(1);
  stats_.summary_probed.fetch_add(static_cast<int64_t>(probe.ids.size()));
  uint64_t ticket;
  {
    std::scoped_lock lock(probe_mu_);
    ticket = ++probe_seq_;
    probes_.emplace(ticket, std::move(probe));
  }
  client_.wakeup();
  return ticket;
}

bool Dispatcher::probe_finished(uint64_t ticket) const {
  std::scoped_lock lock(probe_mu_);
  auto it = probes_.find(ticket);
  return it != probes_.end() && it->second.done;
}

ledger::SummaryResult Dispatcher::end_probe(uint64_t ticket) {
  Probe probe;
  {
    std::scoped_lock lock(probe_mu_);
    auto it = probes_.find(ticket);
    if (it == probes_.end()) return {};
    probe = std::move(it->second);
    probes_.erase(it);
  }
  stats_.summary_wait_us.fetch_add(
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.now_steady() - probe.started)
          .count());
  if (!probe.done) stats_.summary_wait_expired.fetch_add(1);
  ledger::SummaryResult r = std::move(probe.first);
  for (const auto& [id, e] : probe.found) {
    (e.processor == Processor::kDefault ? r.totals.default_totals : r.totals.fallback_totals)
        .add(e.amount);
    --r.ambiguous;
  }
  return r;
}

Result<summary::SummaryTotals> Dispatcher::summarize(const summary::Window& w,
                                                     SteadyTime asked_at) {
  ledger::SummaryResult r;
  {
    const SteadyTime now = clock_.now_steady();
    std::scoped_lock lock(ledger_mu_);
    r = summarize_as_of(w, as_of(asked_at, now));
  }
  // PROBES: a payment whose outcome is open with its requestedAt in the window may be committed
  // at its processor already, which then counts it: look it up now, wait (bounded) for the
  // answers. Only then: a normal payment's requestedAt is in the window only once its 200 is
  // ~2 s behind us. See PROBES at the top for why the answer is the summary read before the
  // lookups plus what they found, not a second read.
  if (r.ambiguous > 0 && cfg_.summary_wait_ms > 0) {
    if (auto ticket = start_probe(w, asked_at)) {
      {
        std::unique_lock lock(probe_mu_);
        probe_cv_.wait_for(lock, milliseconds(cfg_.summary_wait_ms), [&] {
          auto it = probes_.find(*ticket);
          return it == probes_.end() || it->second.done;
        });
      }
      r = end_probe(*ticket);
    }
  }
  stats_.summaries.fetch_add(1);
  if (r.ambiguous > 0) {
    stats_.ambiguous_summaries.fetch_add(1);
    stats_.ambiguous_payments.fetch_add(r.ambiguous);
  }
  // Outside the ledger lock: an edge inside a folded bucket is a PostgreSQL range query.
  if (r.edges.empty()) return r.totals;
  std::scoped_lock lock(store_mu_);
  return ledger::resolve_edges(r, edge_store_);
}

Status Dispatcher::purge() {
  {
    // Order matters: the inbox first, so that nothing accepted before the purge survives it.
    std::scoped_lock inbox(inbox_mu_);
    inbox_.clear();
    checking_ -= unchecked_.size();  // those in a query under way see the epoch move
    unchecked_.clear();
    std::scoped_lock lock(ledger_mu_);
    ledger_.clear();
    recent_.clear();
    epoch_.fetch_add(1);  // open outcomes of earlier payments are dropped when they arrive
  }
  writer_.request_purge();
  if (journal_) {
    Status s = journal_->clear();
    if (!s.is_ok()) spdlog::error("journal clear failed: {}", s.message());
  }
  stats_.purges.fetch_add(1);
  client_.wakeup();
  return Status::ok();
}

void Dispatcher::request_stop() {
  {
    std::scoped_lock lock(inbox_mu_);  // not between the check thread's test and its wait
    stop_.store(true);
  }
  check_cv_.notify_all();
  client_.wakeup();
}

// ---- loop thread -----------------------------------------------------------------------------

void Dispatcher::reconcile(const std::vector<handoff::JournalEntry>& replayed) {
  const SteadyTime now = clock_.now_steady();
  std::vector<handoff::AcceptedPayment> unchecked;
  for (const auto& e : replayed) {
    const auto& a = e.payment;
    bool check;
    {
      std::scoped_lock lock(ledger_mu_);
      if (ledger_.contains(a.id)) continue;  // settled and persisted before the restart
      check = edge_store_ && ledger_.may_have_forgotten();
    }
    if (!e.last_sent && (check || cfg_.claim_ids)) {
      // Journaled before its old-duplicate check (OLD IDS) or its claim (CLAIMS) perhaps:
      // checked (claimed again: a claim this node won before counts as won) before any send.
      stats_.replayed.fetch_add(1);
      unchecked.push_back(a);
      continue;
    }
    if (!active_.insert(a.id).second) continue;
    stats_.replayed.fetch_add(1);
    if (!e.last_sent) {  // journaled before any send: it never left us
      fresh_.push_back(Payment{a, now, 0});
      continue;
    }
    Replay& rp = replays_[a.id];
    rp.pay = Payment{a, now, 0};
    open_outcome(rp.pay, e.last_sent->processor == 1 ? Processor::kFallback : Processor::kDefault,
                 true, e.last_sent->requested_at);
    rp.deadline = now + milliseconds(cfg_.reconcile_delay_ms);
    start_replay_round(a.id, now);
  }
  hold_for_check(std::move(unchecked), now);
  backlog_.store(active_.size());
}

// A replayed POST may still be inside its processor's delay while that delay, as known now
// (health report, observed latency), has not run from its requestedAt (which is no earlier than
// its send): reconcile_delay_ms alone would call a payment absent that an 8 s delay commits
// later, and its re-send would leave the books short until the 422 is looked up.
SteadyTime Dispatcher::replay_still_possible_until(const Replay& rp, SteadyTime now) const {
  const Open& o = open_.at(rp.pay.p.id);
  const int64_t since_stamp_ms = clock_.now_utc().value - o.requested_at.value;
  const int expected = tracker_.expected_latency_ms(o.processor, now, 0);
  return now + milliseconds(expected + cfg_.recheck_ms - since_stamp_ms);
}

void Dispatcher::start_replay_round(const Uuid& id, SteadyTime at) {
  Replay& rp = replays_.at(id);
  rp.round_at = at;
  rp.answers_pending = 2;
  rp.round_unknown = false;
  for (Processor p : kBoth) {
    Lookup lk{rp.pay, p, UtcMillis{}};
    lk.replay = true;
    schedule_lookup(std::move(lk), at);
  }
}

void Dispatcher::on_replay_reply(uint64_t epoch, Lookup lk, const processor::Reply& r,
                                 SteadyTime now) {
  using processor::Outcome;
  auto it = replays_.find(lk.pay.p.id);
  if (it == replays_.end()) return;  // resolved by the other processor's answer or a probe
  Replay& rp = it->second;
  if (r.outcome == Outcome::kOk) {
    auto stored = processor::parse_stored_payment(r.body);
    if (stored.is_ok() && stored->id == lk.pay.p.id) {
      stats_.lookup_found.fetch_add(1);
      replays_.erase(it);
      settle(epoch, lk.pay, lk.processor, stored->amount, stored->requested_at);
      return;
    }
    rp.round_unknown = true;
  } else if (r.outcome != Outcome::kNotFound) {
    rp.round_unknown = true;
  }
  if (--rp.answers_pending > 0) return;
  if (!rp.round_unknown && now >= rp.deadline && now >= replay_still_possible_until(rp, now)) {
    // Absent on both, past any processor delay.
    stats_.lookup_absent.fetch_add(1);
    Payment pay = rp.pay;
    replays_.erase(it);
    close_outcome(pay.p.id);
    requeue(std::move(pay), now);
    return;
  }
  start_replay_round(lk.pay.p.id, now + milliseconds(cfg_.replay_recheck_ms));
}

// ---- summary probes (loop thread) --------------------------------------------------------------

void Dispatcher::start_probes() {
  std::vector<std::pair<uint64_t, std::vector<Uuid>>> asked;
  {
    std::scoped_lock lock(probe_mu_);
    for (auto& [ticket, probe] : probes_) {
      if (probe.asked) continue;
      probe.asked = true;
      asked.emplace_back(ticket, probe.ids);
    }
  }
  const uint64_t epoch = seen_epoch_;
  for (const auto& [ticket, ids] : asked) {
    int n = 0;
    for (const Uuid& id : ids) {
      // Settled or closed since the summary read it open: asked on both (it may have been
      // committed at either before the summary).
      auto it = open_.find(id);
      const Payment pay = it != open_.end() ? it->second.pay : Payment{{id, Cents{0}, {}}, {}, 0};
      for (Processor p : kBoth) {
        if (it != open_.end() && !it->second.both && p != it->second.processor) continue;
        Lookup lk{pay, p, it != open_.end() ? it->second.requested_at : UtcMillis{}};
        lk.probe = ticket;
        ++n;
        stats_.summary_lookups.fetch_add(1);
        // Not through the lookup heap: a probe never waits for a free slot (probe_reserve).
        client_.lookup(p, id, cfg_.lookup_timeout_ms,
                       [this, epoch, lk = std::move(lk)](const processor::Reply& r) mutable {
                         on_lookup_reply(epoch, std::move(lk), r);
                       });
      }
    }
    probe_pending_[ticket] = n;
  }
}

void Dispatcher::on_probe_reply(uint64_t epoch, Lookup lk, const processor::Reply& r) {
  using processor::Outcome;
  std::optional<processor::StoredPayment> stored;
  if (r.outcome == Outcome::kOk) {
    auto parsed = processor::parse_stored_payment(r.body);
    if (parsed.is_ok() && parsed->id == lk.pay.p.id) stored = *parsed;
  }
  if (stored) {
    stats_.summary_lookup_found.fetch_add(1);
  } else if (r.outcome == Outcome::kNotFound) {
    stats_.summary_lookup_absent.fetch_add(1);
    if (epoch == epoch_.load()) probed_absent(lk.pay.p.id);
  } else if (r.outcome == Outcome::kTimeout) {
    stats_.summary_lookup_timeout.fetch_add(1);
  } else {
    stats_.summary_lookup_error.fetch_add(1);
  }
  if (epoch == epoch_.load() && stored) {
    const ledger::Entry e{stored->id, stored->amount, stored->requested_at, lk.processor};
    {
      std::scoped_lock lock(probe_mu_);
      if (auto p = probes_.find(lk.probe); p != probes_.end()) p->second.found.emplace(e.id, e);
    }
    // Committed there: counted from now on. What is still under way for it (its POST's
    // answer, a lookup, a replay round) finds it settled and changes nothing.
    if (auto it = open_.find(lk.pay.p.id); it != open_.end()) {
      replays_.erase(lk.pay.p.id);
      const Payment pay = it->second.pay;
      settle(epoch, pay, lk.processor, stored->amount, stored->requested_at);
    }
  }
  auto p = probe_pending_.find(lk.probe);
  if (p != probe_pending_.end() && --p->second == 0) {
    probe_pending_.erase(p);
    finish_probe(lk.probe);
  }
}

void Dispatcher::finish_probe(uint64_t ticket) {
  {
    std::scoped_lock lock(probe_mu_);
    if (auto it = probes_.find(ticket); it != probes_.end()) it->second.done = true;
  }
  probe_cv_.notify_all();
}

void Dispatcher::open_outcome(const Payment& pay, Processor p, bool both, UtcMillis requested_at,
                              std::optional<SteadyTime> posting_since) {
  const Open& o = open_[pay.p.id] = Open{pay, p, both, requested_at, posting_since, SteadyTime{}};
  publish_open(pay.p.id, o);
}

// The ledger's copy of an open outcome: its requestedAt and from when a summary looks it up.
void Dispatcher::publish_open(const Uuid& id, const Open& o) {
  const SteadyTime after = look_up_after(o);
  std::scoped_lock lock(ledger_mu_);
  ledger_.open(id, o.requested_at, after);
}

// See PROBES: a POST its processor may still be working on is left to its answer.
SteadyTime Dispatcher::look_up_after(const Open& o) const {
  if (!o.posting_since) return SteadyTime{};
  return std::max(o.probe_again_at,
                  *o.posting_since +
                      milliseconds(tracker_.reported_delay_ms(o.processor) + cfg_.probe_after_ms));
}

// The POST of an open outcome ended without settling it (timeout, reset, 5xx, 422...): from now
// on only a lookup can tell, at once.
void Dispatcher::post_ended(const Uuid& id) {
  auto it = open_.find(id);
  if (it == open_.end() || !it->second.posting_since) return;
  it->second.posting_since.reset();
  publish_open(id, it->second);
}

// Not committed yet while its POST is still in flight at an age past our look-up point: its
// processor is inside a delay longer than it last reported (a step the next health poll will
// show). Its commit will be followed by its 200; another lookup only once twice as old (or
// probe_after_ms on), so that a lookup rarely falls near the commit, where it could count one
// made after the checker's parallel query.
void Dispatcher::probed_absent(const Uuid& id) {
  auto it = open_.find(id);
  if (it == open_.end() || !it->second.posting_since) return;
  Open& o = it->second;
  const SteadyTime now = clock_.now_steady();
  const auto age = now - *o.posting_since;
  o.probe_again_at = *o.posting_since + std::max(2 * age, age + milliseconds(cfg_.probe_after_ms));
  publish_open(id, o);
}

// A new reported delay moves the instant from which each POST in flight to p is looked up.
void Dispatcher::refresh_look_up_after() {
  bool changed = false;
  for (Processor p : kBoth) {
    const int d = tracker_.reported_delay_ms(p);
    if (d != look_up_delay_[processor_index(p)]) changed = true;
    look_up_delay_[processor_index(p)] = d;
  }
  if (!changed) return;
  std::scoped_lock lock(ledger_mu_);
  for (const auto& [id, o] : open_)
    if (o.posting_since) ledger_.open(id, o.requested_at, look_up_after(o));
}

void Dispatcher::close_outcome(const Uuid& id) {
  {
    std::scoped_lock lock(ledger_mu_);
    ledger_.close(id);
  }
  open_.erase(id);
}

bool Dispatcher::handoff_idle() {
  std::scoped_lock lock(inbox_mu_);
  return inbox_.empty() && checking_ == 0;
}

void Dispatcher::apply_purge_if_any() {
  const uint64_t e = epoch_.load();
  if (e == seen_epoch_) return;
  seen_epoch_ = e;
  active_.clear();
  fresh_.clear();
  retries_.clear();
  retry_heap_ = {};
  lookups_.clear();
  lookup_heap_ = {};
  replays_.clear();
  open_.clear();
  hold_until_.reset();
  // In-flight requests keep their slots until they complete; their replies see the old epoch.
}

void Dispatcher::drain_inbox(SteadyTime now) {
  std::vector<handoff::AcceptedPayment> batch;
  {
    std::scoped_lock lock(inbox_mu_);
    batch.swap(inbox_);
  }
  if (batch.empty()) return;
  std::scoped_lock lock(ledger_mu_);
  for (const auto& a : batch) {
    if (ledger_.contains(a.id) || !active_.insert(a.id).second) {
      stats_.duplicates_ignored.fetch_add(1);
      continue;
    }
    fresh_.push_back(Payment{a, now, 0});
  }
}

void Dispatcher::poll_health(SteadyTime now) {
  if (shared_health_) return take_shared_health(now);
  for (Processor p : kBoth)
    if (tracker_.poll_due(p, now)) call_health(p, now);
}

// health.shared on: calls happen when the cluster's slot for them was claimed, and answers
// obtained by other workers count as ours.
void Dispatcher::take_shared_health(SteadyTime now) {
  auto in = shared_health_->take();
  for (const auto& o : in.observations) {
    stats_.health_shared_in[processor_index(o.processor)].fetch_add(1);
    tracker_.observed(o.processor, now, o.at, o.failing, o.min_response_ms);
  }
  for (Processor p : in.grants) call_health(p, now);
  for (Processor p : kBoth)
    stats_.health_leader[processor_index(p)].store(shared_health_->leader(p) ? 1 : 0);
}

void Dispatcher::call_health(Processor p, SteadyTime now) {
  tracker_.poll_started(p, now);
  stats_.health_calls[processor_index(p)].fetch_add(1);
  client_.health(p, cfg_.health_timeout_ms, [this, p](const processor::Reply& r) {
    const SteadyTime t = clock_.now_steady();
    std::optional<health::Observation> got;
    if (r.outcome == processor::Outcome::kOk) {
      auto h = processor::parse_health(r.body);
      if (h.is_ok())
        got = health::Observation{p, t, h->failing, h->min_response_ms};
      else
        spdlog::warn("health {}: {}", processor_name(p), h.status().message());
    } else if (r.outcome != processor::Outcome::kTooMany) {
      spdlog::debug("health {}: {}", processor_name(p), processor::outcome_name(r.outcome));
    }
    if (got)
      tracker_.poll_finished(p, t, got->failing, got->min_response_ms);
    else
      tracker_.poll_finished(p, t, std::nullopt, std::nullopt);
    if (shared_health_) shared_health_->answered(p, got);
  });
}

int Dispatcher::oldest_in_flight_ms(Processor p, SteadyTime now) const {
  const auto& s = in_flight_sent_[processor_index(p)];
  auto oldest = s.lower_bound(usable_since_[processor_index(p)]);
  if (oldest == s.end()) return 0;
  return static_cast<int>(std::max<int64_t>(0, ms_between(*oldest, now)));
}

// A request sent since p became usable has outlived its requestedAt stamp by stale_after_ms:
// p's latency stepped above our estimate, and every payment stamped with it now could be
// committed over 2 s after its requestedAt. No new sends to p until those answers teach us.
bool Dispatcher::stale_estimate(Processor p, SteadyTime now) const {
  for (const auto& [due, sent] : in_flight_due_[processor_index(p)]) {
    if (due > now) return false;
    if (sent >= usable_since_[processor_index(p)]) return true;
  }
  return false;
}

router::ProcessorView Dispatcher::view(Processor p, SteadyTime now) const {
  const int free = client_.capacity(p) - client_.in_flight(p) - cfg_.probe_reserve;
  router::ProcessorView v =
      tracker_.view(p, now, oldest_in_flight_ms(p, now), std::max(0, free), client_.capacity(p));
  if (v.usable && stale_estimate(p, now)) v.free_slots = 0;
  return v;
}

void Dispatcher::schedule_lookup(Lookup lk, SteadyTime at) {
  const uint64_t id = ++seq_;
  lookups_.emplace(id, std::move(lk));
  lookup_heap_.push(Timed{at, id});
}

void Dispatcher::start_lookups(SteadyTime now) {
  while (!lookup_heap_.empty() && lookup_heap_.top().at <= now) {
    const Timed t = lookup_heap_.top();
    auto it = lookups_.find(t.seq);
    if (it == lookups_.end()) {
      lookup_heap_.pop();
      continue;
    }
    const Processor p = it->second.processor;
    if (client_.in_flight(p) >= client_.capacity(p)) break;  // resumes when a slot frees
    lookup_heap_.pop();
    Lookup lk = std::move(it->second);
    lookups_.erase(it);
    stats_.lookups.fetch_add(1);
    const Uuid id = lk.pay.p.id;
    const uint64_t epoch = seen_epoch_;
    client_.lookup(p, id, cfg_.lookup_timeout_ms,
                   [this, epoch, lk = std::move(lk)](const processor::Reply& r) mutable {
                     on_lookup_reply(epoch, std::move(lk), r);
                   });
  }
}

bool Dispatcher::next_payment(SteadyTime now, Payment& out) {
  while (!retry_heap_.empty() && retry_heap_.top().at <= now) {
    auto it = retries_.find(retry_heap_.top().seq);
    if (it == retries_.end()) {
      retry_heap_.pop();
      continue;
    }
    out = it->second;
    return true;
  }
  if (fresh_.empty()) return false;
  out = fresh_.front();
  return true;
}

void Dispatcher::dispatch(SteadyTime now) {
  hold_until_.reset();
  for (Processor p : kBoth) {
    const bool usable = !tracker_.failing(p, now);
    if (usable != usable_[processor_index(p)]) {
      usable_[processor_index(p)] = usable;
      if (usable) usable_since_[processor_index(p)] = now;
      spdlog::info("processor {}: {}", processor_name(p), usable ? "usable again" : "failing");
    }
  }
  Payment pay;
  while (next_payment(now, pay)) {
    const auto waited = ms_between(pay.first_seen, now);
    const router::Decision d =
        router::route(cfg_.router, view(Processor::kDefault, now), view(Processor::kFallback, now),
                      waited, static_cast<int64_t>(fresh_.size() + retries_.size()));
    if (d.kind == router::Decision::Kind::kHold) {
      hold_until_ = now + milliseconds(std::max(1, d.hold_ms));
      return;
    }
    // Pop what next_payment() peeked.
    if (!retry_heap_.empty() && retry_heap_.top().at <= now &&
        retries_.count(retry_heap_.top().seq)) {
      retries_.erase(retry_heap_.top().seq);
      retry_heap_.pop();
    } else {
      fresh_.pop_front();
    }
    send(std::move(pay), d.target, d.probe, now);
  }
}

void Dispatcher::send(Payment pay, Processor p, bool probe, SteadyTime now) {
  const int expected = tracker_.expected_latency_ms(p, now, oldest_in_flight_ms(p, now));
  const UtcMillis requested_at{clock_.now_utc().value + expected + cfg_.requested_at_margin_ms};
  open_outcome(pay, p, false, requested_at, now);
  if (journal_)
    sent_log_.push_back({pay.p.id, static_cast<uint8_t>(processor_index(p)), requested_at});
  tracker_.payment_started(p, now, probe);
  in_flight_sent_[processor_index(p)].insert(now);
  const std::pair<SteadyTime, SteadyTime> due{
      now + milliseconds(expected + cfg_.requested_at_margin_ms + cfg_.stale_after_ms), now};
  in_flight_due_[processor_index(p)].insert(due);
  stats_.sent[processor_index(p)].fetch_add(1);
  if (probe) stats_.probes[processor_index(p)].fetch_add(1);
  processor::PaymentRequest req{pay.p.id, pay.p.amount, requested_at};
  const uint64_t epoch = seen_epoch_;
  client_.pay(p, req,
              [this, epoch, pay = std::move(pay), p, requested_at, now, probe,
               due](const processor::Reply& r) mutable {
                auto& dues = in_flight_due_[processor_index(p)];
                if (auto it = dues.find(due); it != dues.end()) dues.erase(it);
                on_pay_reply(epoch, std::move(pay), p, requested_at, now, probe, r);
              });
}

void Dispatcher::on_pay_reply(uint64_t epoch, Payment pay, Processor p, UtcMillis requested_at,
                              SteadyTime sent_at, bool probe, const processor::Reply& r) {
  using processor::Outcome;
  const SteadyTime now = clock_.now_steady();
  auto& sent = in_flight_sent_[processor_index(p)];
  if (auto it = sent.find(sent_at); it != sent.end()) sent.erase(it);
  tracker_.payment_finished(p, now, signal_of(r.outcome), static_cast<int>(r.elapsed.count()),
                            probe);
  stats_.latency[processor_index(p)].observe_us(
      std::chrono::duration_cast<std::chrono::microseconds>(now - sent_at).count());
  if (epoch != epoch_.load()) return;  // purged meanwhile: the outcome no longer matters
  const int pi = processor_index(p);
  if (r.outcome != processor::Outcome::kOk) post_ended(pay.p.id);
  switch (r.outcome) {
    case Outcome::kOk:
      settle(epoch, pay, p, pay.p.amount, requested_at);
      return;
    case Outcome::kDuplicate:
      // Already recorded there (an earlier attempt that we could not confirm, or a replay):
      // learn what it stored before counting it.
      stats_.duplicate_422[pi].fetch_add(1);
      schedule_lookup(Lookup{pay, p, requested_at}, now);
      return;
    case Outcome::kServerError:
      stats_.server_errors[pi].fetch_add(1);
      schedule_lookup(Lookup{pay, p, requested_at}, now);
      return;
    case Outcome::kTimeout:
    case Outcome::kReset: {
      // The processor may still be working on it (sleeping its delay, then inserting): look it
      // up only after its expected latency plus a pause, and believe "absent" only when two
      // lookups recheck_ms apart agree.
      stats_.unknown[pi].fetch_add(1);
      Lookup lk{pay, p, requested_at};
      lk.absent_needed = 2;
      const int wait = cfg_.recheck_ms + tracker_.expected_latency_ms(p, now, 0);
      schedule_lookup(std::move(lk), now + milliseconds(wait));
      return;
    }
    case Outcome::kConnectFailed:
      stats_.connect_failed[pi].fetch_add(1);
      break;
    case Outcome::kTooMany:
      stats_.too_many[pi].fetch_add(1);
      break;
    case Outcome::kNotFound:
    case Outcome::kRejected:
      spdlog::error("payment {} rejected by {} with HTTP {}: giving up ({})", format_uuid(pay.p.id),
                    processor_name(p), r.http_status, r.body);
      stats_.given_up.fetch_add(1);
      forget(pay);
      return;
  }
  close_outcome(pay.p.id);
  requeue(std::move(pay), now);  // proven not inserted
}

void Dispatcher::on_lookup_reply(uint64_t epoch, Lookup lk, const processor::Reply& r) {
  using processor::Outcome;
  const SteadyTime now = clock_.now_steady();
  if (lk.probe) {
    on_probe_reply(epoch, std::move(lk), r);
    return;
  }
  if (epoch != epoch_.load()) return;
  if (lk.replay) {
    on_replay_reply(epoch, std::move(lk), r, now);
    return;
  }
  if (r.outcome == Outcome::kOk) {
    auto stored = processor::parse_stored_payment(r.body);
    if (stored.is_ok() && stored->id == lk.pay.p.id) {
      stats_.lookup_found.fetch_add(1);
      if (stored->amount != lk.pay.p.amount) {
        stats_.amount_mismatch.fetch_add(1);
        spdlog::warn("payment {}: {} stored {} cents, we sent {}", format_uuid(lk.pay.p.id),
                     processor_name(lk.processor), stored->amount.value, lk.pay.p.amount.value);
      }
      settle(epoch, lk.pay, lk.processor, stored->amount, stored->requested_at);
      return;
    }
    spdlog::warn("lookup {} on {}: unreadable answer: {}", format_uuid(lk.pay.p.id),
                 processor_name(lk.processor),
                 stored.is_ok() ? "other id" : stored.status().message());
  } else if (r.outcome == Outcome::kNotFound) {
    if (--lk.absent_needed > 0) {
      schedule_lookup(std::move(lk), now + milliseconds(cfg_.recheck_ms));
      return;
    }
    stats_.lookup_absent.fetch_add(1);
    close_outcome(lk.pay.p.id);
    requeue(std::move(lk.pay), now);
    return;
  }
  // Unknown still: ask the same processor again, never anyone else.
  ++lk.failures;
  const auto delay = router::backoff_ms(cfg_.backoff, lk.failures);
  schedule_lookup(std::move(lk), now + milliseconds(std::max<int64_t>(delay, 50)));
}

void Dispatcher::requeue(Payment pay, SteadyTime now) {
  ++pay.failures;
  if (router::give_up(cfg_.backoff, pay.failures)) {
    spdlog::error("payment {} given up after {} attempts", format_uuid(pay.p.id), pay.failures);
    stats_.given_up.fetch_add(1);
    forget(pay);
    return;
  }
  stats_.retries.fetch_add(1);
  const uint64_t id = ++seq_;
  const auto at = now + milliseconds(router::backoff_ms(cfg_.backoff, pay.failures));
  retries_.emplace(id, std::move(pay));
  retry_heap_.push(Timed{at, id});
}

void Dispatcher::settle(uint64_t epoch, const Payment& pay, Processor p, Cents amount,
                        UtcMillis requested_at) {
  const ledger::Entry e{pay.p.id, amount, requested_at, p};
  SteadyTime look_up = SteadyTime{};
  if (auto it = open_.find(pay.p.id); it != open_.end()) {
    look_up = look_up_after(it->second);
    open_.erase(it);
  }
  bool added;
  {
    const SteadyTime now = clock_.now_steady();
    std::scoped_lock lock(ledger_mu_);
    if (epoch_.load() != epoch) return;  // purged since the reply's check
    const ledger::AddResult a = ledger_.add(e);
    added = a != ledger::AddResult::kDuplicate;
    if (a == ledger::AddResult::kAdded) recent_.push_back(Recent{now, look_up, e});
    while (!recent_.empty() && recent_.front().settled < now - milliseconds(kRecentMs))
      recent_.pop_front();
  }
  active_.erase(pay.p.id);
  if (!added) return;
  stats_.confirmed[processor_index(p)].fetch_add(1);
  writer_.enqueue(e);
}

void Dispatcher::forget(const Payment& pay) {
  close_outcome(pay.p.id);
  active_.erase(pay.p.id);
  // Given up (logged and counted): a restart must not bring it back.
  if (journal_) {
    Status s = journal_->append_settled({pay.p.id});
    if (!s.is_ok())
      spdlog::warn("journal: settling a given-up payment failed ({}); a restart looks it up again",
                   s.message());
  }
}

int Dispatcher::wait_ms(SteadyTime now) const {
  // Only future instants count here: work that is due but blocked (the router holds, or no
  // free slot for a lookup) resumes at the hold time or when a completion frees a slot, which
  // wakes run_once() anyway. Counting it would spin the loop.
  SteadyTime next = now + milliseconds(100);  // upper bound: stop and purge checks
  next = std::min(next, tracker_.next_event(now));
  if (hold_until_) {
    next = std::min(next, *hold_until_);
  } else if (!retry_heap_.empty() && retry_heap_.top().at > now) {
    next = std::min(next, retry_heap_.top().at);
  }
  if (!lookup_heap_.empty() && lookup_heap_.top().at > now)
    next = std::min(next, lookup_heap_.top().at);
  return static_cast<int>(std::max<int64_t>(0, ms_between(now, next)));
}

// The transport sends nothing before run_once(): journaling the turn's sends here puts each
// SENT record in the journal before its request leaves the process.
void Dispatcher::flush_sent_log() {
  if (!journal_ || sent_log_.empty()) return;
  Status s = journal_->append_sent(sent_log_);
  if (!s.is_ok())
    spdlog::error("journal: {} SENT records lost ({}); a restart would queue them as never sent",
                  sent_log_.size(), s.message());
  sent_log_.clear();
}

int Dispatcher::step() {
  const SteadyTime now = clock_.now_steady();
  if (!next_stats_) next_stats_ = now + milliseconds(cfg_.stats_log_ms);
  apply_purge_if_any();
  drain_inbox(now);
  poll_health(now);
  refresh_look_up_after();
  start_probes();
  start_lookups(now);
  dispatch(now);
  flush_sent_log();
  backlog_.store(active_.size());
  stats_.backlog.store(static_cast<int64_t>(active_.size()));
  for (Processor p : kBoth)
    stats_.in_flight[processor_index(p)].store(static_cast<int64_t>(client_.in_flight(p)));
  if (cfg_.stats_log_ms > 0 && now >= *next_stats_) {
    next_stats_ = now + milliseconds(cfg_.stats_log_ms);
    spdlog::info("worker stats: {} backlog={} in_flight={}/{} db_pending={}", stats_.to_string(),
                 active_.size(), client_.in_flight(Processor::kDefault),
                 client_.in_flight(Processor::kFallback), writer_.pending());
  }
  return wait_ms(clock_.now_steady());
}

void Dispatcher::run_loop() {
  std::optional<SteadyTime> drain_deadline;
  while (true) {
    const SteadyTime now = clock_.now_steady();
    if (stop_.load() && !drain_deadline) {
      drain_deadline = now + milliseconds(cfg_.drain_ms);
      spdlog::info("worker: stopping; {} payments queued or open", active_.size());
    }
    if (drain_deadline && ((active_.empty() && handoff_idle()) || now >= *drain_deadline)) break;
    client_.run_once(step());
  }
  if (!active_.empty())
    spdlog::warn("worker: stopped with {} payments queued or open", active_.size());
}

std::string Stats::to_string() const {
  auto pair = [](const std::array<Counter, 2>& a) {
    return std::to_string(a[0].load()) + "/" + std::to_string(a[1].load());
  };
  return "accepted=" + std::to_string(accepted.load()) +
         " dup_ignored=" + std::to_string(duplicates_ignored.load()) + " sent=" + pair(sent) +
         " confirmed=" + pair(confirmed) + " 422=" + pair(duplicate_422) +
         " 5xx=" + pair(server_errors) + " unknown=" + pair(unknown) +
         " connect_failed=" + pair(connect_failed) + " 429=" + pair(too_many) +
         " probes=" + pair(probes) + " lookups=" + std::to_string(lookups.load()) +
         " found=" + std::to_string(lookup_found.load()) +
         " absent=" + std::to_string(lookup_absent.load()) +
         " retries=" + std::to_string(retries.load()) +
         " given_up=" + std::to_string(given_up.load()) +
         " summaries=" + std::to_string(summaries.load()) +
         " ambiguous=" + std::to_string(ambiguous_summaries.load()) + "/" +
         std::to_string(ambiguous_payments.load()) +
         " summary_probes=" + std::to_string(summary_waits.load()) + "/" +
         std::to_string(summary_wait_expired.load()) +
         " probe_lookups=" + std::to_string(summary_lookups.load()) + "/" +
         std::to_string(summary_lookup_found.load()) + "/" +
         std::to_string(summary_lookup_absent.load()) + "/" +
         std::to_string(summary_lookup_timeout.load()) + "/" +
         std::to_string(summary_lookup_error.load()) +
         " replayed=" + std::to_string(replayed.load()) +
         " purges=" + std::to_string(purges.load());
}

}  // namespace rinha::worker
