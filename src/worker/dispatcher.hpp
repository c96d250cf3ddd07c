// Dispatcher: the worker's one scheduling loop. It owns the payment queue, the health tracker and
// every outcome still open, drives the processor transport it is given (the caller owns it), and
// implements the hand-off Sink. The processors are reached through processor::Transport and
// time read from the Clock given, so tests drive step() on a ManualClock with a scripted fake.
// Threading: run_loop() (or step()) runs on one thread and is the only user of the transport,
// the tracker and the queue. Sink methods run on the hand-off server thread: accept() only
// journals and appends to the inbox (or to the ids awaiting the old-duplicate check or, in
// cluster mode, their claim, which check_old_ids() runs on a thread of its own), summarize()
// reads the ledger, purge() clears the ledger and bumps the epoch; the ledger and the inbox are
// each guarded by a mutex. request_stop() may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/time.hpp"
#include "config/config.hpp"
#include "handoff/journal.hpp"
#include "handoff/server.hpp"
#include "health/exchange.hpp"
#include "health/tracker.hpp"
#include "ledger/ledger.hpp"
#include "ledger/store.hpp"
#include "ledger/writer.hpp"
#include "processor/transport.hpp"
#include "router/router.hpp"
#include "worker/stats.hpp"

namespace rinha::worker {

// Fields that are configuration keys have no default here: dispatcher_config() fills them from
// config::Config, which holds each key's one default. The rest are fixed by the code.
struct DispatcherConfig {
  router::RouterConfig router;
  router::BackoffConfig backoff;
  health::HealthConfig health;
  int requested_at_margin_ms;  // added to the expected latency when stamping requestedAt
  // A POST outliving its stamp by this much stops sends to its processor until it answers.
  int stale_after_ms;
  int recheck_ms;                // wait after a timeout/reset before looking the payment up
  int lookup_timeout_ms = 5000;  // GET /payments/{id}
  int health_timeout_ms = 8000;  // service-health may be held up to 5 s by its limiter
  int stats_log_ms = 10000;      // period of the counters log line (0 = never)
  int drain_ms = 5000;           // at stop, how long open payments may still settle
  // Journal replay: a payment the previous process had sent is looked up on both processors at
  // once and every replay_recheck_ms; found nowhere for this long after start (longer than any
  // processor delay, so a request left in flight has been committed or dropped), it is absent.
  int reconcile_delay_ms;
  int replay_recheck_ms;
  // A summary whose window holds the requestedAt of a payment whose outcome is open (in flight
  // past its stamp, awaiting a lookup, replayed) waits at most this long while that payment is
  // looked up (a probe), so that one the processor already committed is counted.
  int summary_wait_ms;
  // A POST in flight is one of those only once older than its processor's reported delay plus
  // this: before, its 200 follows its commit within microseconds, and a lookup, which reaches
  // the processor after the checker's parallel query, could count a commit made in between.
  int probe_after_ms;
  // Connections per processor kept free of payments so that probes never queue behind them.
  int probe_reserve = 8;
  // Cluster mode (cluster.node set): every id is claimed in the shared database before it is
  // sent, so that one accepted by two nodes at once is forwarded by one only (CLAIMS).
  bool claim_ids;
  // OLD IDS, CLAIMS (dispatcher.cpp): accepted ids the ledger may have forgotten, and in cluster
  // mode every new id, wait this long for one store round (claim, old-id query) shared with
  // those accepted meanwhile, or until this many wait.
  int old_check_linger_ms = 10;
  size_t old_check_max = 512;
};

// The worker's settings for the dispatcher: router.*, retry.*, health.*, worker.* of cfg.
DispatcherConfig dispatcher_config(const config::Config& cfg);

class Dispatcher final : public handoff::Sink {
 public:
  // The ledger must already hold what the store had (load before constructing). The writer
  // persists every entry this dispatcher settles. journal may be null (durability none): else
  // accept() appends to it before answering, and purge() clears it; marking payments settled
  // there is the writer's job (after their rows are committed). edge_store (may be null: then
  // a summary needing it fails) answers window edges inside folded buckets (hand-off thread)
  // and whether an accepted id folded out of memory was already stored (check_old_ids()).
  // shared_health (may be null: then this worker polls on its own, cfg.health.polls): the
  // health calls are made when it grants them, their answers handed back to it, and the answers
  // other workers obtained are fed to the tracker from it (health.shared on).
  Dispatcher(DispatcherConfig cfg, const Clock& clock, processor::Transport& transport,
             ledger::Ledger& ledger, std::mutex& ledger_mu, ledger::LedgerWriter& writer,
             Stats& stats, handoff::Journal* journal = nullptr, ledger::Store* edge_store = nullptr,
             health::HealthExchange* shared_health = nullptr);

  // handoff::Sink (hand-off server thread).
  Status accept(const std::vector<handoff::AcceptedPayment>& batch) override;
  Result<summary::SummaryTotals> summarize(const summary::Window& w, SteadyTime asked_at) override;
  Status purge() override;

  // Payments accepted before a restart and not known to be settled. One that was sent (it has a
  // SENT record) is looked up on both processors at once, again every replay_recheck_ms, and
  // never re-sent before it is proven absent; one never sent is queued (through the
  // old-duplicate check once the ledger may have forgotten ids). Call before run_loop().
  void reconcile(const std::vector<handoff::JournalEntry>& replayed);

  // Summary-time probe (summarize() uses these; tests turn the loop in between).
  // start_probe() reads the summary of w and the payments whose outcome is open with their
  // requestedAt in w, together (nullopt when there is none); the loop then looks each up at once
  // (on its processor; a replayed or already settled one on both) and settles those found.
  // probe_finished() is true once every lookup has answered. end_probe() releases the ticket and
  // returns that first summary plus the payments the lookups found committed: what the
  // processors counted when the lookups reached them, whatever answered during the wait.
  // The summary_* probe counters of Stats move here (and as the lookups answer).
  // Thread-safe.
  std::optional<uint64_t> start_probe(const summary::Window& w, SteadyTime asked_at);
  bool probe_finished(uint64_t ticket) const;
  ledger::SummaryResult end_probe(uint64_t ticket);

  // Runs until request_stop(), then lets open payments settle for at most drain_ms:
  // step() and the transport's run_once() in turn.
  void run_loop();
  // One turn of the loop at clock.now_steady() (purge, inbox, health polls, due lookups,
  // dispatch); returns how long the caller may wait for the transport before the next turn.
  int step();
  void request_stop();

  // OLD IDS, CLAIMS (see dispatcher.cpp). One turn of the old-duplicate check and the claims at
  // clock.now_steady(): once the oldest id waiting is old_check_linger_ms old (or
  // old_check_max wait, or stop was requested), claims all of them in one statement (cluster
  // mode), asks the store which of those it owns are stored already, drops those claimed
  // elsewhere or stored and hands the rest to the loop. A failed claim puts the ids back and
  // pauses claims for a second (at stop, they are left to the journal). Returns 0 after a
  // round, else how long until one is due (ms), -1 when nothing waits. run_old_id_checks()
  // turns it on the calling thread (its own: the queries block) until request_stop() and
  // nothing waits.
  int check_old_ids();
  void run_old_id_checks();

  // For tests: queued + open payments.
  size_t backlog() const { return backlog_.load(); }

 private:
  struct Payment {
    handoff::AcceptedPayment p;
    SteadyTime first_seen{};
    int failures = 0;
  };
  struct Timed {  // a payment or lookup due at a time
    SteadyTime at;
    uint64_t seq;
    bool operator>(const Timed& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  // A payment whose outcome at a processor must be learnt with GET /payments/{id}.
  struct Lookup {
    Payment pay;
    Processor processor;
    UtcMillis sent_requested_at;  // what we sent
    bool replay = false;          // a round of journal-replay lookups (see Replay)
    uint64_t probe = 0;           // a summary's probe (ticket): settles if found, else nothing
    int failures = 0;
    int absent_needed = 1;  // 404 answers required before the payment counts as absent
  };

  void hold_for_check(std::vector<handoff::AcceptedPayment> batch, SteadyTime now);
  bool claims_paused(SteadyTime now) const;
  Result<std::unordered_set<Uuid, UuidHash>> claim_held(
      const std::vector<handoff::AcceptedPayment>& batch, SteadyTime now);
  void hold_again(std::vector<handoff::AcceptedPayment> batch, uint64_t epoch, bool stopping,
                  SteadyTime now);
  std::unordered_set<Uuid, UuidHash> stored_among(
      const std::vector<handoff::AcceptedPayment>& batch, SteadyTime now);
  bool handoff_idle();  // nothing in the inbox or waiting for the old-duplicate check
  void drain_inbox(SteadyTime now);
  void apply_purge_if_any();
  void poll_health(SteadyTime now);
  void take_shared_health(SteadyTime now);
  void call_health(Processor p, SteadyTime now);
  void start_lookups(SteadyTime now);
  void dispatch(SteadyTime now);
  bool next_payment(SteadyTime now, Payment& out);
  void send(Payment pay, Processor p, bool probe, SteadyTime now);
  void on_pay_reply(uint64_t epoch, Payment pay, Processor p, UtcMillis requested_at,
                    SteadyTime sent_at, bool probe, const processor::Reply& r);
  void on_lookup_reply(uint64_t epoch, Lookup lk, const processor::Reply& r);
  void on_replay_reply(uint64_t epoch, Lookup lk, const processor::Reply& r, SteadyTime now);
  void start_replay_round(const Uuid& id, SteadyTime at);
  void start_probes();
  void on_probe_reply(uint64_t epoch, Lookup lk, const processor::Reply& r);
  void finish_probe(uint64_t ticket);
  struct Open;
  void open_outcome(const Payment& pay, Processor p, bool both, UtcMillis requested_at,
                    std::optional<SteadyTime> posting_since = std::nullopt);
  SteadyTime look_up_after(const Open& o) const;
  void publish_open(const Uuid& id, const Open& o);
  void post_ended(const Uuid& id);
  void probed_absent(const Uuid& id);
  void refresh_look_up_after();
  void close_outcome(const Uuid& id);  // proven absent or given up: no ledger entry
  void flush_sent_log();
  void schedule_lookup(Lookup lk, SteadyTime at);
  void requeue(Payment pay, SteadyTime now);
  void settle(uint64_t epoch, const Payment& pay, Processor p, Cents amount,
              UtcMillis requested_at);
  void forget(const Payment& pay);  // the payment leaves us without a ledger entry
  int oldest_in_flight_ms(Processor p, SteadyTime now) const;
  router::ProcessorView view(Processor p, SteadyTime now) const;
  bool stale_estimate(Processor p, SteadyTime now) const;
  int wait_ms(SteadyTime now) const;

  const DispatcherConfig cfg_;
  const Clock& clock_;
  processor::Transport& client_;
  ledger::Ledger& ledger_;
  std::mutex& ledger_mu_;
  ledger::LedgerWriter& writer_;
  Stats& stats_;
  handoff::Journal* journal_;
  ledger::Store* edge_store_;
  health::HealthExchange* shared_health_;
  health::Tracker tracker_;

  // Old-duplicate check's thread only.
  SteadyTime old_check_retry_at_{};
  SteadyTime claim_retry_at_{};
  // edge_store_ is one connection, used by the hand-off thread (edges) and the check's thread
  // (old ids, claims).
  std::mutex store_mu_;

  // Shared with the hand-off thread (and the old-duplicate check's).
  std::mutex inbox_mu_;
  std::vector<handoff::AcceptedPayment> inbox_;  // GUARDED_BY(inbox_mu_)
  // GUARDED_BY(inbox_mu_): awaiting the check (and the claim)
  std::vector<handoff::AcceptedPayment> unchecked_;
  SteadyTime unchecked_since_{};  // GUARDED_BY(inbox_mu_): the oldest's arrival
  size_t checking_ = 0;  // GUARDED_BY(inbox_mu_): unchecked_ + those in the query under way
  std::condition_variable check_cv_;  // with inbox_mu_: the first id waits, or stop
  std::atomic<uint64_t> epoch_{0};    // bumped by purge(); changed under ledger_mu_
  std::atomic<bool> stop_{false};
  std::atomic<size_t> backlog_{0};

  // Loop thread only.
  uint64_t seen_epoch_ = 0;
  uint64_t seq_ = 0;
  std::unordered_set<Uuid, UuidHash> active_;  // queued or open, not settled
  std::deque<Payment> fresh_;
  std::priority_queue<Timed, std::vector<Timed>, std::greater<>> retry_heap_;
  std::unordered_map<uint64_t, Payment> retries_;
  std::priority_queue<Timed, std::vector<Timed>, std::greater<>> lookup_heap_;
  std::unordered_map<uint64_t, Lookup> lookups_;
  std::array<std::multiset<SteadyTime>, 2> in_flight_sent_;  // POST start times
  // POSTs in flight: (stamp + stale_after_ms, start), earliest first.
  std::array<std::multiset<std::pair<SteadyTime, SteadyTime>>, 2> in_flight_due_;
  std::optional<SteadyTime> hold_until_;
  std::array<bool, 2> usable_{true, true};  // last logged state, per processor
  // When each processor last became usable: requests sent before (while it failed, e.g. held
  // by a 2 s delay before their 500) say nothing about its latency now.
  std::array<SteadyTime, 2> usable_since_{};
  std::optional<SteadyTime> next_stats_;
  std::vector<handoff::SentRecord> sent_log_;  // sends of this turn, journaled before they leave
  // A replayed payment the previous process had sent, until found or proven absent.
  struct Replay {
    Payment pay;
    SteadyTime deadline;      // absent on both after this: requeued
    SteadyTime round_at;      // the current lookup round was scheduled then (sent no earlier)
    int answers_pending = 0;  // of the current round
    bool round_unknown = false;
  };
  std::unordered_map<Uuid, Replay, UuidHash> replays_;
  SteadyTime replay_still_possible_until(const Replay& rp, SteadyTime now) const;
  // Every payment whose outcome is open in the ledger: where to look it up (a replayed one was
  // perhaps sent to either processor) and the requestedAt it was sent with.
  struct Open {
    Payment pay;
    Processor processor;
    bool both;
    UtcMillis requested_at;
    std::optional<SteadyTime> posting_since;  // its POST is in flight, sent then
    // A probe found it not committed yet, its POST still in flight: its processor is in a
    // delay we did not know of; looked up again only from here on (see PROBES).
    SteadyTime probe_again_at{};
  };
  std::unordered_map<Uuid, Open, UuidHash> open_;
  std::array<int, 2> look_up_delay_{0, 0};           // reported delays open_ was last opened with
  std::unordered_map<uint64_t, int> probe_pending_;  // ticket -> lookups still to answer

  // Probes, shared with the hand-off thread.
  struct Probe {
    ledger::SummaryResult first;  // read with ids, before any lookup
    SteadyTime started{};         // for the time summaries spend waiting (metric)
    std::vector<Uuid> ids;        // open with requestedAt in the window then
    bool asked = false;           // taken by the loop
    bool done = false;            // every lookup answered
    std::unordered_map<Uuid, ledger::Entry, UuidHash> found;  // committed at a processor
  };
  // AS OF (see dispatcher.cpp): payments settled lately, oldest first, GUARDED_BY(ledger_mu_).
  struct Recent {
    SteadyTime settled;
    SteadyTime look_up_after;  // of its open outcome: before it, only its answer could tell
    ledger::Entry e;
  };
  std::deque<Recent> recent_;
  static constexpr int kRecentMs = 2000;  // a summary asked longer ago answers as of then
  static SteadyTime as_of(SteadyTime asked_at, SteadyTime now);
  // The ledger's summary of w as of asked_at (clamped to the last kRecentMs); ledger_mu_ held.
  ledger::SummaryResult summarize_as_of(const summary::Window& w, SteadyTime asked_at) const;

  mutable std::mutex probe_mu_;
  std::condition_variable probe_cv_;
  uint64_t probe_seq_ = 0;            // GUARDED_BY(probe_mu_)
  std::map<uint64_t, Probe> probes_;  // GUARDED_BY(probe_mu_)
};

}  // namespace rinha::worker
