// The knob table (keys, bounds, help) and the setters that parse and bound-check each value.
// Adding a tunable = a field with its default in config.hpp + one row here + config/rinhad.yaml.
#include "config/knobs.hpp"

#include <charconv>

namespace rinha::config {
namespace {

using IntRef = std::function<int&(Config&)>;
using StrRef = std::function<std::string&(Config&)>;

Knob int_knob(std::string key, IntRef ref, int64_t min, int64_t max, std::string help) {
  Knob k{key, KnobType::kInt, std::move(help), min, max, {}, false, nullptr, nullptr};
  k.get = [ref](const Config& c) { return std::to_string(ref(const_cast<Config&>(c))); };
  k.set = [ref, key, min, max](Config& c, const std::string& v) -> Status {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size())
      return Status::invalid_argument(key + ": expected an integer, got '" + v + "'");
    if (n < min || n > max)
      return Status::invalid_argument(key + ": " + v + " is out of range [" + std::to_string(min) +
                                      ", " + std::to_string(max) + "]");
    ref(c) = static_cast<int>(n);
    return Status::ok();
  };
  return k;
}

// allow_empty: "" is a meaningful value (a feature turned off), not a forgotten one.
Knob str_knob(std::string key, StrRef ref, std::string help, bool secret = false,
              bool allow_empty = false) {
  Knob k{key, KnobType::kString, std::move(help), 0, 0, {}, secret, nullptr, nullptr};
  k.get = [ref](const Config& c) { return ref(const_cast<Config&>(c)); };
  k.set = [ref, key, allow_empty](Config& c, const std::string& v) -> Status {
    if (v.empty() && !allow_empty) return Status::invalid_argument(key + ": must not be empty");
    ref(c) = v;
    return Status::ok();
  };
  return k;
}

// An enum knob: names[i] spells the enumerator of value i.
template <typename E, size_t N>
Knob enum_knob(std::string key, std::function<E&(Config&)> ref,
               const std::array<std::string_view, N>& names, std::string help) {
  std::vector<std::string> choices(names.begin(), names.end());
  Knob k{key, KnobType::kChoice, std::move(help), 0, 0, choices, false, nullptr, nullptr};
  k.get = [ref, names](const Config& c) {
    return std::string(names[static_cast<size_t>(ref(const_cast<Config&>(c)))]);
  };
  k.set = [ref, key, names](Config& c, const std::string& v) -> Status {
    for (size_t i = 0; i < N; ++i) {
      if (names[i] == v) {
        ref(c) = static_cast<E>(i);
        return Status::ok();
      }
    }
    std::string list;
    for (auto n : names) list += (list.empty() ? "" : "|") + std::string(n);
    return Status::invalid_argument(key + ": '" + v + "' is not one of " + list);
  };
  return k;
}

void add_processor(std::vector<Knob>& t, const std::string& name, ProcessorConfig Config::*p) {
  std::string pre = "processors." + name + ".";
  t.push_back(str_knob(
      pre + "url", [p](Config& c) -> std::string& { return (c.*p).url; },
      "base URL of the " + name + " payment processor"));
  t.push_back(int_knob(
      pre + "timeout_ms", [p](Config& c) -> int& { return (c.*p).timeout_ms; }, 100, 600000,
      "ms, whole-request timeout; keep above the longest processor delay"));
  t.push_back(int_knob(
      pre + "connect_timeout_ms", [p](Config& c) -> int& { return (c.*p).connect_timeout_ms; }, 10,
      60000, "ms, TCP connect timeout"));
  t.push_back(int_knob(
      pre + "max_connections", [p](Config& c) -> int& { return (c.*p).max_connections; }, 1, 4096,
      "requests in flight (one connection each) to this processor"));
}

std::vector<Knob> build() {
  std::vector<Knob> t;
  t.push_back(enum_knob<Mode>(
      "mode", [](Config& c) -> Mode& { return c.mode; }, kModeNames, "role of this process"));
  t.push_back(enum_knob<LogLevel>(
      "log.level", [](Config& c) -> LogLevel& { return c.log.level; }, kLogLevelNames,
      "log level"));
  t.push_back(str_knob(
      "api.listen", [](Config& c) -> std::string& { return c.api.listen; },
      "HTTP listen address host:port (TCP; port 0 = any free port)"));
  t.push_back(int_knob(
      "api.threads", [](Config& c) -> int& { return c.api.threads; }, 1, 64,
      "HTTP reactor threads"));
  t.push_back(int_knob(
      "api.max_request_bytes", [](Config& c) -> int& { return c.api.max_request_bytes; }, 512,
      1 << 20, "bytes, request line + headers + body; larger requests get 413"));
  t.push_back(str_knob(
      "api.journal_path", [](Config& c) -> std::string& { return c.api.journal_path; },
      "this api's journal of payments answered 2xx and not yet acked by the worker "
      "(unused with handoff.durability none); one file per api instance"));
  t.push_back(str_knob(
      "api.purge_token", [](Config& c) -> std::string& { return c.api.purge_token; },
      "X-Rinha-Token header POST /purge-payments must carry (401 otherwise); empty = no token "
      "needed, as the contest's test calls it without one",
      true, true));
  t.push_back(str_knob(
      "worker.listen", [](Config& c) -> std::string& { return c.worker.listen; },
      "hand-off address the worker listens on and apis connect to: unix:/path or host:port"));
  t.push_back(str_knob(
      "worker.metrics_listen", [](Config& c) -> std::string& { return c.worker.metrics_listen; },
      "host:port where the worker serves GET /metrics (Prometheus text); empty = off", false,
      true));
  t.push_back(int_knob(
      "worker.reconcile_delay_ms", [](Config& c) -> int& { return c.worker.reconcile_delay_ms; }, 0,
      600000,
      "ms after a restart during which a payment the previous process had sent, found on "
      "neither processor, is still looked up (it may be inside a processor's delay); then it "
      "is sent again. Keep above the longest processor delay"));
  t.push_back(int_knob(
      "worker.replay_recheck_ms", [](Config& c) -> int& { return c.worker.replay_recheck_ms; }, 10,
      60000,
      "ms between the lookup rounds (both processors) of a payment sent before a restart and "
      "not yet found"));
  t.push_back(int_knob(
      "worker.summary_wait_ms", [](Config& c) -> int& { return c.worker.summary_wait_ms; }, 0,
      10000,
      "ms a summary may wait for the lookups of the payments whose outcome is open with their "
      "requestedAt in its window (past their stamp after a latency step, answered late, "
      "replayed after a restart; none in normal running), so it matches the processors' "
      "count; must stay below handoff.reply_timeout_ms"));
  t.push_back(int_knob(
      "worker.probe_after_ms", [](Config& c) -> int& { return c.worker.probe_after_ms; }, 0, 60000,
      "a POST still in flight when a summary asks is looked up only once older than its "
      "processor's reported delay plus this; younger, its 200 follows its commit at once and a "
      "lookup would only lag behind the checker's query. Keep below 2000 (a commit answered "
      "over 2 s late is then still found)"));
  t.push_back(int_knob(
      "handoff.batch_max", [](Config& c) -> int& { return c.handoff.batch_max; }, 1, 65536,
      "payments per hand-off frame from an api to the worker"));
  t.push_back(int_knob(
      "handoff.linger_us", [](Config& c) -> int& { return c.handoff.linger_us; }, 0, 100000,
      "us an api's accepted payments wait before going to the worker, so that those accepted "
      "meanwhile share one frame, one ack and one journal record (fewer wake-ups per payment "
      "on the api's core); 0 = send each at once. Summaries and purges never wait"));
  t.push_back(int_knob(
      "handoff.reply_timeout_ms", [](Config& c) -> int& { return c.handoff.reply_timeout_ms; }, 10,
      60000,
      "ms an api waits for the worker's answer to a summary or purge (then 503); a worker "
      "that answers nothing for this long while payment batches await their ack is taken as "
      "lost: reconnected, and the batches sent again (a late ack alone resends nothing)"));
  t.push_back(enum_knob<Durability>(
      "handoff.durability", [](Config& c) -> Durability& { return c.handoff.durability; },
      kDurabilityNames,
      "when POST /payments may answer 2xx: none = queued in the api's memory, process = "
      "written to the api's journal (survives a crash of any process), machine = "
      "journal also fdatasync'ed (survives power loss; costs a disk flush per payment)"));
  t.push_back(str_knob(
      "handoff.journal_path", [](Config& c) -> std::string& { return c.handoff.journal_path; },
      "worker's journal file (accepted payments not yet settled)"));
  add_processor(t, "default", &Config::default_processor);
  add_processor(t, "fallback", &Config::fallback_processor);
  t.push_back(int_knob(
      "retry.max_attempts", [](Config& c) -> int& { return c.retry.max_attempts; }, 0, 1000000,
      "attempts before a payment is given up (logged and counted); 0 = never give up"));
  t.push_back(int_knob(
      "retry.backoff_base_ms", [](Config& c) -> int& { return c.retry.backoff_base_ms; }, 1, 60000,
      "ms, first retry delay; doubles per attempt"));
  t.push_back(int_knob(
      "retry.backoff_cap_ms", [](Config& c) -> int& { return c.retry.backoff_cap_ms; }, 1, 600000,
      "ms, longest retry delay"));
  t.push_back(int_knob(
      "retry.recheck_ms", [](Config& c) -> int& { return c.retry.recheck_ms; }, 0, 600000,
      "ms after a timeout/reset before the payment is looked up on that processor"));
  t.push_back(int_knob(
      "health.interval_ms", [](Config& c) -> int& { return c.health.interval_ms; }, 5000, 600000,
      "ms between health calls per processor (the processors allow one per 5 s)"));
  t.push_back(int_knob(
      "health.breaker_errors", [](Config& c) -> int& { return c.health.breaker_errors; }, 1, 1000,
      "consecutive failed payments (5xx, timeout, connect) that mark a processor failing"));
  t.push_back(int_knob(
      "health.probe_interval_ms", [](Config& c) -> int& { return c.health.probe_interval_ms; }, 100,
      600000, "ms, while a processor is failing, one probe payment at most this often"));
  t.push_back(enum_knob<OnOff>(
      "health.shared", [](Config& c) -> OnOff& { return c.health.shared; }, kOnOffNames,
      "worker: on = one health poller per processor for every worker on this database "
      "(leader by PostgreSQL advisory lock, call slots claimed on PostgreSQL's clock, answers "
      "published to the others by NOTIFY); off = this worker polls on its own"));
  t.push_back(int_knob(
      "health.shared_retry_ms", [](Config& c) -> int& { return c.health.shared_retry_ms; }, 50,
      60000,
      "ms, with health.shared on: how often a worker that does not lead a processor's polls "
      "tries to take the lead, so leadership moves within about this long of a leader's death; "
      "must stay below health.interval_ms"));
  t.push_back(int_knob(
      "router.fallback_after_ms", [](Config& c) -> int& { return c.router.fallback_after_ms; }, 0,
      600000, "ms a payment may wait for the default before fallback is used"));
  t.push_back(int_knob(
      "router.slow_default_ms", [](Config& c) -> int& { return c.router.slow_default_ms; }, 0,
      600000, "ms, expected default latency from which it counts as slow"));
  t.push_back(int_knob(
      "router.requested_at_margin_ms",
      [](Config& c) -> int& { return c.router.requested_at_margin_ms; }, 0, 10000,
      "ms added to send time + expected latency when stamping requestedAt (consistency "
      "margin, see worker/dispatcher.cpp)"));
  t.push_back(int_knob(
      "router.stale_after_ms", [](Config& c) -> int& { return c.router.stale_after_ms; }, 0, 60000,
      "ms a POST may outlive its requestedAt stamp before no new payment goes to its processor "
      "until its answers correct the expected latency (latency steps; see "
      "worker/dispatcher.cpp)"));
  t.push_back(int_knob(
      "router.probe_hold_ms", [](Config& c) -> int& { return c.router.probe_hold_ms; }, 0, 60000,
      "ms the fallback's traffic waits for the answer of a probe of the failing default"));
  t.push_back(int_knob(
      "ledger.batch_size", [](Config& c) -> int& { return c.ledger.batch_size; }, 1, 100000,
      "rows per ledger INSERT"));
  t.push_back(int_knob(
      "ledger.flush_interval_ms", [](Config& c) -> int& { return c.ledger.flush_interval_ms; }, 1,
      60000, "ms, longest a settled payment waits before its INSERT"));
  t.push_back(int_knob(
      "ledger.horizon_ms", [](Config& c) -> int& { return c.ledger.horizon_ms; }, 1000, 2000000000,
      "ms, the worker keeps per-payment detail for payments this recent (requestedAt behind the "
      "newest); older ones are folded into bucket totals, bounding memory and restart time"));
  t.push_back(int_knob(
      "ledger.bucket_ms", [](Config& c) -> int& { return c.ledger.bucket_ms; }, 100, 86400000,
      "ms, width of the exact per-processor totals kept for payments older than the horizon; a "
      "summary edge inside such a bucket is answered by an indexed PostgreSQL range query"));
  t.push_back(str_knob(
      "cluster.peers", [](Config& c) -> std::string& { return c.cluster.peers; },
      "api: the other nodes' workers' hand-off addresses (their worker.listen), comma-separated; "
      "set, this api answers /payments-summary (the sum of every worker's part, 503 when one "
      "does not answer within handoff.reply_timeout_ms) and /purge-payments for the whole "
      "cluster",
      false, true));
  t.push_back(int_knob(
      "cluster.node", [](Config& c) -> int& { return c.cluster.node; }, 0, 32767,
      "worker: this worker's books in the shared ledger: it restores, and its summary part "
      "counts, only the rows it stored; every worker on one database needs its own. Not 0: "
      "each id is claimed in PostgreSQL before it is sent, so that one accepted by two nodes "
      "is forwarded by one only"));
  t.push_back(str_knob(
      "database.url", [](Config& c) -> std::string& { return c.database.url; },
      "PostgreSQL libpq URI (password masked in dumps)", true));
  return t;
}

}  // namespace

const std::vector<Knob>& knobs() {
  static const std::vector<Knob> kTable = build();
  return kTable;
}

const Knob* find_knob(const std::string& key) {
  for (const auto& k : knobs())
    if (k.key == key) return &k;
  return nullptr;
}

}  // namespace rinha::config
