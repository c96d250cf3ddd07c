// Shared health poller on PostgreSQL (libpqxx 6.4). Config keys (through the caller):
// database.url, health.interval_ms, health.shared_retry_ms.
#include "cluster/shared_health.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <pqxx/pqxx>

#include "common/errno_text.hpp"
#include "ledger/postgres_store.hpp"

namespace rinha::cluster {

using std::chrono::milliseconds;

namespace {

constexpr const char* kChannel = "rinha_health";
// PostgreSQL's clock in ms since the epoch: every node's slot claims compare this one clock.
constexpr const char* kPgNowMs = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

constexpr std::array<Processor, 2> kBoth{Processor::kDefault, Processor::kFallback};

// "<processor> <failing 0|1> <minResponseTime>"; nullopt for anything else.
std::optional<health::Observation> parse_payload(const std::string& payload, SteadyTime at) {
  int p = -1, failing = -1, min_ms = -1;
  char extra = 0;
  if (std::sscanf(payload.c_str(), "%d %d %d%c", &p, &failing, &min_ms, &extra) != 3)
    return std::nullopt;
  if (p < 0 || p > 1 || failing < 0 || failing > 1 || min_ms < 0) return std::nullopt;
  return health::Observation{p == 0 ? Processor::kDefault : Processor::kFallback, at, failing == 1,
                             min_ms};
}

}  // namespace

const char* shared_health_schema() {
  return R"sql(
CREATE TABLE IF NOT EXISTS health_polls (
  processor       smallint PRIMARY KEY CHECK (processor IN (0, 1)),  -- 0 default, 1 fallback
  polled_at_ms    bigint   NOT NULL DEFAULT 0,  -- PostgreSQL's clock at the last claimed call
  observed_at_ms  bigint,                       -- PostgreSQL's clock at the last answer
  failing         boolean,
  min_response_ms integer
);
INSERT INTO health_polls (processor) VALUES (0), (1) ON CONFLICT DO NOTHING;
)sql";
}

// Hands each notification of the others to the loop; our own answers are already there.
struct SharedHealth::Conn {
  class Receiver final : public pqxx::notification_receiver {
   public:
    Receiver(pqxx::connection& c, const Clock& clock, health::HealthExchange& x)
        : pqxx::notification_receiver(c, kChannel), conn_(c), clock_(clock), exchange_(x) {}
    void operator()(const std::string& payload, int backend_pid) override {
      if (backend_pid == conn_.backendpid()) return;
      auto o = parse_payload(payload, clock_.now_steady());
      if (!o) {
        spdlog::warn("shared health: ignored notification '{}'", payload);
        return;
      }
      exchange_.observe(*o);
    }

   private:
    pqxx::connection& conn_;
    const Clock& clock_;
    health::HealthExchange& exchange_;
  };

  Conn(const std::string& url, const Clock& clock, health::HealthExchange& x)
      : c(url), receiver(c, clock, x) {}
  pqxx::connection c;
  Receiver receiver;
};

SharedHealth::SharedHealth(std::string database_url, SharedHealthConfig cfg, const Clock& clock,
                           health::HealthExchange& exchange)
    : url_(std::move(database_url)), cfg_(cfg), clock_(clock), exchange_(exchange), plan_(cfg) {}

SharedHealth::~SharedHealth() {
  stop_.store(true);
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status SharedHealth::start() {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::io_error("shared health: eventfd: " + errno_text(errno));
  const int fd = wake_fd_;
  exchange_.set_thread_wakeup([fd] {
    const uint64_t one = 1;
    (void)::write(fd, &one, sizeof one);
  });
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

void SharedHealth::run() {
  while (!stop_.load()) {
    const SteadyTime now = clock_.now_steady();
    if (plan_.connect_due(now)) connect(now);
    if (conn_) turn(clock_.now_steady());
    wait(plan_.next_event(clock_.now_steady()));
  }
  conn_.reset();
}

void SharedHealth::connect(SteadyTime now) {
  try {
    auto c = std::make_unique<Conn>(url_, clock_, exchange_);
    {
      pqxx::work w{c->c};
      w.exec_params("SELECT pg_advisory_xact_lock($1, $2)", ledger::kAdvisoryKey,
                    ledger::kSchemaLockId);
      w.exec(shared_health_schema());
      w.commit();
    }
    // What was published while we were away (the tracker ignores an answer gone stale).
    pqxx::nontransaction n{c->c};
    pqxx::result r = n.exec(std::string("SELECT processor, failing, min_response_ms, ") + kPgNowMs +
                            " - observed_at_ms FROM health_polls WHERE observed_at_ms IS NOT NULL");
    for (const auto& row : r) {
      const auto age = milliseconds(std::max<int64_t>(0, row[3].as<int64_t>()));
      exchange_.observe(
          health::Observation{row[0].as<int>() == 0 ? Processor::kDefault : Processor::kFallback,
                              now - age, row[1].as<bool>(), row[2].as<int>()});
    }
    conn_ = std::move(c);
    plan_.on_connected(now);
    spdlog::info("shared health: connected (backend {})", conn_->c.backendpid());
  } catch (const std::exception& e) {
    conn_.reset();
    plan_.on_connection_lost(now);
    spdlog::warn("shared health: cannot connect: {}", e.what());
  }
}

void SharedHealth::lost(SteadyTime now, const std::string& why) {
  spdlog::warn("shared health: connection lost ({}); not polling until reconnected", why);
  conn_.reset();
  plan_.on_connection_lost(now);
  exchange_.revoke_grants();
  for (Processor p : kBoth) exchange_.set_leader(p, false);
}

void SharedHealth::turn(SteadyTime now) {
  try {
    // Answers first: publishing frees the next claim.
    for (const auto& a : exchange_.take_answers()) {
      plan_.on_call_finished(a.processor);
      if (!a.observation) continue;
      const auto& o = *a.observation;
      pqxx::work w{conn_->c};
      w.exec_params(std::string("UPDATE health_polls SET observed_at_ms = ") + kPgNowMs +
                        ", failing = $2, min_response_ms = $3 WHERE processor = $1",
                    processor_index(a.processor), o.failing, o.min_response_ms);
      w.exec_params("SELECT pg_notify($1, $2)", kChannel,
                    std::to_string(processor_index(a.processor)) + " " + (o.failing ? "1" : "0") +
                        " " + std::to_string(o.min_response_ms));
      w.commit();
    }
    for (Processor p : kBoth) {
      const int idx = processor_index(p);
      switch (plan_.next(p, now)) {
        case Step::kNone:
          break;
        case Step::kTryLock: {
          pqxx::nontransaction n{conn_->c};
          const bool got =
              n.exec_params("SELECT pg_try_advisory_lock($1, $2)", ledger::kAdvisoryKey, idx)[0][0]
                  .as<bool>();
          plan_.on_lock(p, now, got);
          exchange_.set_leader(p, got);
          if (got)
            spdlog::info("shared health: leading the {} processor's polls", processor_name(p));
          break;
        }
        case Step::kClaim: {
          // The slot is taken only if the last claim (anyone's) is an interval old on
          // PostgreSQL's clock; a concurrent claim re-checks the committed row and fails.
          pqxx::nontransaction n{conn_->c};
          pqxx::result r = n.exec_params(
              std::string("WITH now AS (SELECT ") + kPgNowMs +
                  " AS ms), claimed AS (UPDATE health_polls h SET polled_at_ms = now.ms FROM now "
                  "WHERE h.processor = $1 AND h.polled_at_ms <= now.ms - $2 RETURNING 1) "
                  "SELECT (SELECT count(*) FROM claimed), h.polled_at_ms + $2 - now.ms "
                  "FROM health_polls h, now WHERE h.processor = $1",
              idx, cfg_.interval_ms);
          const bool granted = r[0][0].as<int64_t>() == 1;
          plan_.on_claim(p, now, granted, r[0][1].as<int64_t>());
          if (granted) exchange_.grant(p);
          break;
        }
      }
    }
    conn_->c.get_notifs();
  } catch (const std::exception& e) {
    lost(now, e.what());
  }
}

void SharedHealth::wait(SteadyTime until) {
  const auto left = std::chrono::duration_cast<milliseconds>(until - clock_.now_steady()).count();
  if (left <= 0) return;
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {conn_ ? conn_->c.sock() : -1, POLLIN, 0}};
  const int n = ::poll(fds, conn_ && fds[1].fd >= 0 ? 2 : 1, static_cast<int>(left));
  if (n > 0 && (fds[0].revents & POLLIN)) {
    uint64_t v = 0;
    (void)::read(wake_fd_, &v, sizeof v);
  }
}

}  // namespace rinha::cluster
