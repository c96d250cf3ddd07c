// Config: every tunable of rinhad in one typed struct, with its default beside it.
// Loaded once at start (YAML file, then --key=value flags, flags win), validated once, then each
// module receives the const slice it needs. Keys, units, bounds and help live in the knob table
// (knobs.cpp); config/rinhad.yaml shows every key and a test keeps the two in step.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/durability.hpp"
#include "common/status.hpp"

namespace rinha::config {

// The role of a rinhad process.
enum class Mode : uint8_t { kApi, kWorker };
// The config spelling, indexed by the enum's value.
inline constexpr std::array<std::string_view, 2> kModeNames{"api", "worker"};

// log.level: the least severe message logged.
enum class LogLevel : uint8_t { kTrace, kDebug, kInfo, kWarn, kError };
inline constexpr std::array<std::string_view, 5> kLogLevelNames{"trace", "debug", "info", "warn",
                                                                "error"};

// A feature switch spelled off|on in YAML and flags (health.shared).
enum class OnOff : uint8_t { kOff, kOn };
inline constexpr std::array<std::string_view, 2> kOnOffNames{"off", "on"};

struct ProcessorConfig {
  std::string url;                // base URL, e.g. http://127.0.0.1:8001
  int timeout_ms = 15000;         // whole-request timeout; longer than any processor delay
  int connect_timeout_ms = 1000;  // TCP connect timeout
  int max_connections = 400;      // concurrent requests (and connections) to this processor
};

struct Config {
  Mode mode = Mode::kApi;

  struct Log {
    LogLevel level = LogLevel::kInfo;
  } log;

  struct Api {
    std::string listen = "127.0.0.1:9999";                // host:port or unix:/path
    int threads = 1;                                      // Pistache reactor threads
    int max_request_bytes = 4096;                         // request line + headers + body
    std::string journal_path = "/tmp/rinha-api.journal";  // one per api instance
    std::string purge_token;  // X-Rinha-Token POST /purge-payments needs; "" = none; secret
  } api;

  struct Worker {
    std::string listen = "unix:/tmp/rinha-worker.sock";  // hand-off socket; apis connect here
    std::string metrics_listen;  // host:port serving GET /metrics (Prometheus); "" = off
    // After a restart, a payment the previous process had sent is looked up on both processors
    // at once and every replay_recheck_ms; found on neither for reconcile_delay_ms, it is sent
    // again. A summary whose window holds an open outcome (such a payment, or one past its
    // stamp) waits up to summary_wait_ms while it is looked up. A POST still in flight is
    // looked up only once older than its processor's reported delay + probe_after_ms.
    int reconcile_delay_ms = 12000;
    int replay_recheck_ms = 100;
    int summary_wait_ms = 250;
    int probe_after_ms = 1500;
  } worker;

  struct Handoff {
    int batch_max = 256;  // payments per frame from an api to the worker
    // summary/purge: 503 after this; payment batch: re-sent after this
    int reply_timeout_ms = 1000;
    // us an api's accepted payments wait, so that those accepted meanwhile share one frame
    int linger_us = 2000;
    Durability durability = Durability::kProcess;
    std::string journal_path = "/tmp/rinha-journal";
  } handoff;

  ProcessorConfig default_processor{"http://127.0.0.1:8001"};
  ProcessorConfig fallback_processor{"http://127.0.0.1:8002"};

  struct Retry {
    int max_attempts = 0;       // 0 = never give up
    int backoff_base_ms = 10;   // first retry delay
    int backoff_cap_ms = 1000;  // longest retry delay
    int recheck_ms = 1000;      // wait after a timeout/reset before GET /payments/{id}
  } retry;

  struct Health {
    int interval_ms = 5000;        // per processor; the processors allow 1 call / 5 s shared by all
    int breaker_errors = 3;        // consecutive failed payments that mark a processor failing
    int probe_interval_ms = 1000;  // while a processor is failing, one probe payment this often
    // on: one poller per processor for all workers on this database (docs/scale-out.md, 4)
    OnOff shared = OnOff::kOff;
    int shared_retry_ms = 500;  // a follower tries to become the leader this often
  } health;

  struct Router {
    int fallback_after_ms = 500;     // queue wait past which fallback pays off
    int slow_default_ms = 1500;      // default latency (expected) treated as slow
    int requested_at_margin_ms = 5;  // requestedAt = send time + expected latency + this
    int stale_after_ms = 250;  // a POST outliving its stamp by this stops sends to its processor
    int probe_hold_ms = 300;   // fallback traffic waits this long for a young default probe
  } router;

  struct Ledger {
    int batch_size = 500;        // rows per INSERT
    int flush_interval_ms = 50;  // longest a confirmed payment waits before its INSERT
    int horizon_ms = 120000;     // payments kept in detail: this recent (requestedAt) or newer
    int bucket_ms = 10000;       // older payments: exact totals per bucket of this width
  } ledger;

  struct Cluster {
    // api: hand-off addresses (worker.listen) of the other nodes' workers, comma-separated. Set:
    // this api answers /payments-summary and /purge-payments for the whole cluster, its own
    // worker's part plus each of these (docs/scale-out.md, 2). "" = a single node.
    std::string peers;
    // worker: whose books these are in the shared ledger (its rows and bucket totals carry it);
    // every worker on one database needs its own. 0 = a single node; not 0, it also claims
    // each id in PostgreSQL before sending it (exactly-once across nodes, docs/scale-out.md, 3).
    int node = 0;
  } cluster;

  struct Database {
    std::string url = "postgresql://postgres@127.0.0.1:5432/rinha";  // libpq URI; secret
  } database;
};

// Where a value came from when loading, for messages.
struct LoadError {
  std::string key;      // the YAML/flag key at fault ("" when not about one key)
  std::string message;  // full human message naming the key
};

// Applies "key" = "value" (the flag/YAML spelling) to cfg; fails naming the key on an unknown
// key, a value that does not parse, or one outside the key's bounds.
Status set_value(Config& cfg, const std::string& key, const std::string& value);

// Applies a YAML document (nested maps) on top of cfg. Fails naming the first bad key.
Status apply_yaml_text(Config& cfg, const std::string& yaml_text);
Status apply_yaml_file(Config& cfg, const std::string& path);

// cluster.peers as a list ("" = none); fails naming an empty or malformed address.
Result<std::vector<std::string>> peer_list(const std::string& peers);

// Cross-key checks that no single knob can make (e.g. backoff base <= cap).
Status validate(const Config& cfg);

// The effective configuration as YAML (nested, every key, secrets masked). With annotate, each
// key is preceded by a comment with its help, bounds and default: config/rinhad.yaml is exactly
// dump_yaml(Config{}, true), which a test checks.
std::string dump_yaml(const Config& cfg, bool annotate = false);

// Masks the password of a libpq URI: postgresql://user:***@host/db.
std::string redact_url(const std::string& url);

}  // namespace rinha::config
