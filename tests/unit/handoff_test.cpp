// Hand-off frames (round trip, malformed input) and client/server over a real Unix socket.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "fake_sink.hpp"
#include "handoff/client.hpp"
#include "handoff/handoff_format.hpp"
#include "net/socket.hpp"

using namespace rinha;
using namespace rinha::handoff;
using namespace std::chrono_literals;

namespace {

AcceptedPayment payment(int n, int64_t cents = 1990) {
  AcceptedPayment p;
  p.id.bytes[15] = static_cast<uint8_t>(n);
  p.id.bytes[14] = static_cast<uint8_t>(n >> 8);
  p.amount = Cents{cents};
  p.accepted_at = UtcMillis{1'700'000'000'000LL + n};
  return p;
}

std::string socket_path(const char* tag) {
  return "unix:/tmp/rinha-handoff-test-" + std::to_string(::getpid()) + "-" + tag + ".sock";
}

struct Waiter final : Completion {
  std::promise<Status> p;
  void done(Status s) override { p.set_value(s); }
};
struct SummaryWaiter final : SummaryCompletion {
  std::promise<Result<summary::SummaryTotals>> p;
  void done(Result<summary::SummaryTotals> r) override { p.set_value(std::move(r)); }
};

}  // namespace

TEST_CASE("every frame type survives encode/decode, also byte by byte") {
  std::vector<Frame> frames(6);
  frames[0].type = FrameType::kPayments;
  frames[0].seq = 7;
  frames[0].payments = {payment(1), payment(2, 5)};
  frames[1].type = FrameType::kPaymentsAck;
  frames[1].seq = 7;
  frames[1].status = 1;
  frames[2].type = FrameType::kSummaryRequest;
  frames[2].seq = 8;
  frames[2].from_ms = -5;
  frames[2].to_ms = INT64_MAX;
  frames[3].type = FrameType::kSummaryReply;
  frames[3].seq = 8;
  frames[3].totals.default_totals = {3, Cents{5970}};
  frames[3].totals.fallback_totals = {1, Cents{1}};
  frames[4].type = FrameType::kPurgeRequest;
  frames[4].seq = 9;
  frames[5].type = FrameType::kPurgeReply;
  frames[5].seq = 9;
  std::string wire;
  for (const auto& f : frames) encode(f, wire);

  FrameDecoder d;
  std::vector<Frame> got;
  for (char c : wire) {
    d.feed(std::string_view(&c, 1));
    auto next = d.next();
    REQUIRE(next.is_ok());
    if (next->has_value()) got.push_back(**next);
  }
  REQUIRE(got.size() == frames.size());
  CHECK(got[0].payments == frames[0].payments);
  CHECK(got[1].status == 1);
  CHECK(got[2].from_ms == -5);
  CHECK(got[2].to_ms == INT64_MAX);
  CHECK(got[3].totals == frames[3].totals);
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].type == frames[i].type);
    CHECK(got[i].seq == frames[i].seq);
  }
}

TEST_CASE("malformed frames are errors, never crashes") {
  auto decode = [](std::string bytes) {
    FrameDecoder d;
    d.feed(bytes);
    return d.next();
  };
  CHECK_FALSE(decode(std::string("\0\0\0\0", 4)).is_ok());          // zero length
  CHECK_FALSE(decode(std::string("\xff\xff\xff\x7f", 4)).is_ok());  // oversized
  CHECK_FALSE(
      decode(std::string("\x09\0\0\0\x63", 5) + std::string(8, '\0')).is_ok());  // unknown type
  std::string pay;
  Frame f;
  f.type = FrameType::kPayments;
  f.payments = {payment(1)};
  encode(f, pay);
  pay[13] = 2;  // claims two payments, carries one
  CHECK_FALSE(decode(pay).is_ok());
  auto partial = decode(std::string("\x10\0\0\0\x01", 5));
  REQUIRE(partial.is_ok());
  CHECK_FALSE(partial->has_value());  // needs more bytes
}

TEST_CASE("client batches delivered payments to the server and summary and purge round-trip") {
  testing::FakeSink sink;
  std::string addr = socket_path("roundtrip");
  Server server(addr, sink);
  REQUIRE(server.start().is_ok());
  std::atomic<size_t> acked{0};
  Client client(
      ClientOptions{addr, 64, 2000, [&](const std::vector<Uuid>& ids) { acked += ids.size(); }, 0});
  REQUIRE(client.start().is_ok());

  for (int i = 0; i < 500; ++i) client.deliver(payment(i));
  for (int i = 0; i < 300 && acked.load() < 500; ++i) std::this_thread::sleep_for(10ms);
  CHECK(acked.load() == 500);
  CHECK(sink.size() == 500);
  CHECK(sink.batches() >= 500 / 64);

  SummaryWaiter sw;
  client.summarize(summary::Window{}, &sw);
  auto totals = sw.p.get_future().get();
  REQUIRE(totals.is_ok());
  CHECK(totals->default_totals.requests == 500);
  CHECK(totals->default_totals.amount.value == 500 * 1990);

  Waiter purge;
  client.purge(&purge);
  CHECK(purge.p.get_future().get().is_ok());
  CHECK(sink.size() == 0);
}

TEST_CASE("a request made before the worker is up is answered once it is") {
  testing::FakeSink sink;
  std::string addr = socket_path("late");
  Client client(ClientOptions{addr, 16, 3000, nullptr, 0});
  REQUIRE(client.start().is_ok());
  SummaryWaiter early;
  client.summarize(summary::Window{}, &early);  // no server yet
  std::this_thread::sleep_for(200ms);
  Server server(addr, sink);
  REQUIRE(server.start().is_ok());
  CHECK(early.p.get_future().get().is_ok());
}

TEST_CASE("without a worker a waiting request times out") {
  std::string addr = socket_path("absent");
  Client client(ClientOptions{addr, 16, 300, nullptr, 0});
  REQUIRE(client.start().is_ok());
  Waiter w;
  auto t0 = std::chrono::steady_clock::now();
  client.purge(&w);
  auto s = w.p.get_future().get();
  CHECK(s.code() == Status::Code::kTimeout);
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
}

TEST_CASE("deliver() owns a payment until the worker acks it, across absence and refusals") {
  std::string addr = socket_path("deliver");
  std::mutex mu;
  std::vector<Uuid> delivered;
  ClientOptions o{addr, 16, 200,
                  [&](const std::vector<Uuid>& ids) {
                    std::lock_guard lock(mu);
                    delivered.insert(delivered.end(), ids.begin(), ids.end());
                  },
                  0};
  Client client(o);
  REQUIRE(client.start().is_ok());
  client.deliver(payment(1));  // no worker yet: waits, longer than the reply timeout
  std::this_thread::sleep_for(400ms);
  testing::FakeSink sink;
  sink.set_refuse(true);
  Server server(addr, sink);
  REQUIRE(server.start().is_ok());
  client.deliver(payment(2));
  std::this_thread::sleep_for(300ms);  // refused, retried, refused...
  CHECK(sink.size() == 0);
  {
    std::lock_guard lock(mu);
    CHECK(delivered.empty());
  }
  sink.set_refuse(false);
  for (int i = 0; i < 100 && sink.size() < 2; ++i) std::this_thread::sleep_for(20ms);
  CHECK(sink.size() == 2);
  auto count = [&] {
    std::lock_guard lock(mu);
    return delivered.size();
  };
  for (int i = 0; i < 100 && count() < 2; ++i) std::this_thread::sleep_for(20ms);
  std::lock_guard lock(mu);
  CHECK(std::set<Uuid>(delivered.begin(), delivered.end()) ==
        std::set<Uuid>{payment(1).id, payment(2).id});
}

namespace {

// A worker whose first slow_calls batches each take slow_ms to accept (a busy hand-off thread).
class SlowSink final : public Sink {
 public:
  SlowSink(int slow_ms, int slow_calls) : slow_ms_(slow_ms), slow_calls_(slow_calls) {}
  Status accept(const std::vector<AcceptedPayment>& batch) override {
    if (slow_calls_.fetch_sub(1) > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms_));
    return inner.accept(batch);
  }
  Result<summary::SummaryTotals> summarize(const summary::Window& w, SteadyTime at) override {
    return inner.summarize(w, at);
  }
  Status purge() override { return inner.purge(); }
  testing::FakeSink inner;

 private:
  const int slow_ms_;
  std::atomic<int> slow_calls_;
};

// Every id on_delivered reported, in order (repeats kept).
struct Delivered {
  std::mutex mu;
  std::vector<Uuid> ids;
  std::function<void(const std::vector<Uuid>&)> callback() {
    return [this](const std::vector<Uuid>& got) {
      std::lock_guard lock(mu);
      ids.insert(ids.end(), got.begin(), got.end());
    };
  }
  size_t count() {
    std::lock_guard lock(mu);
    return ids.size();
  }
  void wait_for(size_t n) {
    for (int i = 0; i < 500 && count() < n; ++i) std::this_thread::sleep_for(10ms);
  }
};

}  // namespace

// LATE ACKS (client.cpp): 12 frames, one payment each, acked 50 ms apart: the last ones are acked
// well past the 500 ms reply timeout, while the worker keeps answering. Each is sent once.
TEST_CASE("late acks from a worker that keeps answering resend nothing") {
  SlowSink sink(50, 1000);
  std::string addr = socket_path("late-acks");
  Server server(addr, sink);
  REQUIRE(server.start().is_ok());
  Delivered delivered;
  Client client(ClientOptions{addr, 1, 500, delivered.callback(), 0});
  REQUIRE(client.start().is_ok());
  for (int i = 0; i < 12; ++i) client.deliver(payment(i));
  delivered.wait_for(12);
  std::this_thread::sleep_for(100ms);  // a resend, had there been one, would be acked by now
  CHECK(delivered.count() == 12);
  CHECK(std::set<Uuid>(delivered.ids.begin(), delivered.ids.end()).size() == 12);
  CHECK(sink.inner.size() == 12);
  CHECK(sink.inner.batches() == 12);  // before: frames past the timeout were sent again
}

// A worker silent for the whole reply timeout with a frame waiting: the connection is taken as
// lost, a new one made and the frame sent again; the payment is reported delivered once.
TEST_CASE("a worker that answers nothing for the reply timeout gets the batch again") {
  std::signal(SIGPIPE, SIG_IGN);  // as in rinhad: the first copy's ack meets a closed socket
  SlowSink sink(300, 1);          // the first batch holds the worker's thread 300 ms
  std::string addr = socket_path("silent");
  Server server(addr, sink);
  REQUIRE(server.start().is_ok());
  Delivered delivered;
  Client client(ClientOptions{addr, 16, 200, delivered.callback(), 0});
  REQUIRE(client.start().is_ok());
  client.deliver(payment(1));
  delivered.wait_for(1);
  std::this_thread::sleep_for(100ms);
  CHECK(delivered.count() == 1);
  CHECK(sink.inner.batches() >= 2);  // the first copy, taken late, and the one sent again
  CHECK(sink.inner.size() == 1);
}

// A worker that read the batch and died before acking it (kill -9): the batch goes again on the
// next connection, to the restarted worker.
TEST_CASE("a batch whose connection is lost before its ack is sent again on the next one") {
  std::string addr = socket_path("lost");
  Delivered delivered;
  Client client(ClientOptions{addr, 16, 60'000, delivered.callback(), 0});
  {
    auto listener = net::listen_on(addr);
    REQUIRE(listener.is_ok());
    REQUIRE(client.start().is_ok());
    client.deliver(payment(1));
    pollfd l{listener->get(), POLLIN, 0};
    REQUIRE(::poll(&l, 1, 5000) == 1);
    net::Fd conn(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(conn.valid());
    char buf[4096];
    REQUIRE(::read(conn.get(), buf, sizeof buf) > 0);  // the frame, never acked
  }
  testing::FakeSink sink;
  Server server(addr, sink);
  REQUIRE(server.start().is_ok());
  delivered.wait_for(1);
  CHECK(delivered.count() == 1);
  CHECK(sink.size() == 1);
}

// ---- Journal ----

#include <fstream>

#include "handoff/journal.hpp"
#include "handoff/mapped_file.hpp"

namespace {

std::string journal_path(const char* tag) {
  std::string p = "/tmp/rinha-journal-test-" + std::to_string(::getpid()) + "-" + tag;
  ::unlink(p.c_str());
  return p;
}

std::unique_ptr<Journal> open_journal(const std::string& path,
                                      Durability d = Durability::kProcess) {
  auto j = Journal::open(path, d);
  REQUIRE(j.is_ok());
  return std::move(j).value();
}

// Enough accepted-then-settled traffic to pass the compaction threshold (8 MiB); ids start
// with round + id_offset. keep_first_7: the 8th payment of round 0 stays live.
void churn_until_compacted(Journal& j, int id_offset, bool keep_first_7) {
  for (int round = 0; round < 600 && j.compactions() == 0; ++round) {
    std::vector<AcceptedPayment> batch;
    std::vector<Uuid> ids;
    for (int i = 0; i < 1000; ++i) {
      auto p = payment(i);
      p.id.bytes[0] = static_cast<uint8_t>(round + id_offset);
      p.id.bytes[1] = static_cast<uint8_t>(round >> 8);
      batch.push_back(p);
      if (!(keep_first_7 && round == 0 && i == 7)) ids.push_back(p.id);
    }
    REQUIRE(j.append_accepted(batch).is_ok());
    REQUIRE(j.append_settled(ids).is_ok());
  }
}

}  // namespace

TEST_CASE("journal: what was accepted and not settled survives a reopen in order") {
  auto path = journal_path("replay");
  {
    auto j = open_journal(path);
    REQUIRE(j->append_accepted({payment(1), payment(2), payment(3)}).is_ok());
    REQUIRE(j->append_accepted({payment(4)}).is_ok());
    REQUIRE(j->append_settled({payment(2).id, payment(4).id}).is_ok());
  }  // the process "dies" here: nothing else is flushed or closed on purpose
  auto j = open_journal(path, Durability::kMachine);
  auto left = j->unsettled();
  REQUIRE(left.size() == 2);
  CHECK(left[0] == payment(1));
  CHECK(left[1] == payment(3));
  REQUIRE(j->append_settled({payment(1).id}).is_ok());
  CHECK(open_journal(path)->unsettled() == std::vector<AcceptedPayment>{payment(3)});
}

TEST_CASE("journal: a torn tail is dropped and the rest is kept") {
  auto path = journal_path("torn");
  uint64_t end = 0;  // the records end here; the file is longer (preallocated zeros)
  {
    auto j = open_journal(path);
    REQUIRE(j->append_accepted({payment(1)}).is_ok());
    REQUIRE(j->append_accepted({payment(2)}).is_ok());
    end = j->file_bytes();
  }
  CHECK(std::filesystem::file_size(path) >= end);
  std::filesystem::resize_file(path, end - 3);  // crash in the middle of the second record
  {
    auto j = open_journal(path);
    CHECK(j->unsettled() == std::vector<AcceptedPayment>{payment(1)});
    REQUIRE(j->append_accepted({payment(5)}).is_ok());  // appends after the good prefix
    end = j->file_bytes();
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(end));
    f << "garbage-garbage";
  }
  CHECK(open_journal(path)->unsettled() == std::vector<AcceptedPayment>{payment(1), payment(5)});
}

TEST_CASE("journal: a full disk fails the append that needs space, loses nothing, and recovers") {
  // RLIMIT_FSIZE stands in for a full disk: posix_fallocate past it fails with EFBIG.
  auto path = journal_path("full");
  struct rlimit saved {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 2 * MappedFile::kStep;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  auto j = open_journal(path);
  int ok_batches = 0;
  Status failed = Status::ok();
  for (int round = 0; round < 200 && failed.is_ok(); ++round) {
    std::vector<AcceptedPayment> batch;
    for (int i = 0; i < 1000; ++i) {
      auto p = payment(i);
      p.id.bytes[0] = static_cast<uint8_t>(round);
      batch.push_back(p);
    }
    failed = j->append_accepted(batch);
    if (failed.is_ok()) ++ok_batches;
  }
  CHECK(!failed.is_ok());
  CHECK(failed.message().find("cannot reserve") != std::string::npos);
  CHECK(ok_batches > 0);
  CHECK(j->live_count() == static_cast<size_t>(ok_batches) * 1000);
  CHECK(open_journal(path)->live_count() == static_cast<size_t>(ok_batches) * 1000);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved) == 0);
  std::signal(SIGXFSZ, old_handler);
  auto extra = payment(1);
  extra.id.bytes[0] = 255;                       // no round reaches 255
  REQUIRE(j->append_accepted({extra}).is_ok());  // space again
  CHECK(open_journal(path)->live_count() == static_cast<size_t>(ok_batches) * 1000 + 1);
}

TEST_CASE("journal: clear forgets everything and compaction keeps only live entries") {
  auto path = journal_path("compact");
  auto j = open_journal(path);
  REQUIRE(j->append_accepted({payment(1)}).is_ok());
  REQUIRE(j->clear().is_ok());
  CHECK(j->unsettled().empty());
  CHECK(open_journal(path)->unsettled().empty());

  churn_until_compacted(*j, 0, /*keep_first_7=*/true);
  CHECK(j->compactions() >= 1);
  CHECK(j->file_bytes() < (1u << 20));
  auto expected = payment(7);
  auto reopened = open_journal(path)->unsettled();
  REQUIRE(reopened.size() == 1);
  CHECK(reopened[0] == expected);
}

TEST_CASE("journal: the last SENT of each live payment survives a reopen and a compaction") {
  auto path = journal_path("sent");
  {
    auto j = open_journal(path);
    REQUIRE(j->append_accepted({payment(1), payment(2), payment(3)}).is_ok());
    REQUIRE(
        j->append_sent({{payment(1).id, 0, UtcMillis{1000}}, {payment(2).id, 1, UtcMillis{2000}}})
            .is_ok());
    REQUIRE(j->append_sent({{payment(1).id, 1, UtcMillis{3000}}}).is_ok());  // re-sent elsewhere
    REQUIRE(j->append_settled({payment(2).id}).is_ok());
    REQUIRE(j->append_sent({{payment(2).id, 0, UtcMillis{4000}}}).is_ok());  // settled: ignored
  }
  auto check = [&](const std::vector<JournalEntry>& left) {
    REQUIRE(left.size() == 2);
    CHECK(left[0].payment == payment(1));
    REQUIRE(left[0].last_sent);
    CHECK(*left[0].last_sent == SentRecord{payment(1).id, 1, UtcMillis{3000}});
    CHECK(left[1].payment == payment(3));
    CHECK(!left[1].last_sent);  // never sent
  };
  auto j = open_journal(path);
  check(j->unsettled_entries());
  // Compaction rewrites the live entries with their SENT records.
  churn_until_compacted(*j, 1, false);
  REQUIRE(j->compactions() >= 1);
  check(open_journal(path)->unsettled_entries());
}

TEST_CASE("journal: appends made while a compaction writes its file neither wait nor get lost") {
  auto path = journal_path("compact-concurrent");
  auto j = open_journal(path);
  REQUIRE(j->append_accepted({payment(1)}).is_ok());
  int observed = 0;
  j->set_compaction_observer([&] {
    ++observed;
    // Another thread (an api's reactor) appends now; with the mutex held it would block.
    auto append = std::async(std::launch::async, [&] {
      return j->append_accepted({payment(2)}).is_ok() &&
             j->append_sent({{payment(2).id, 1, UtcMillis{5000}}}).is_ok() &&
             j->append_settled({payment(1).id}).is_ok();
    });
    REQUIRE(append.wait_for(5s) == std::future_status::ready);
    CHECK(append.get());
  });
  churn_until_compacted(*j, 1, false);
  REQUIRE(j->compactions() == 1);
  CHECK(observed == 1);
  auto left = open_journal(path)->unsettled_entries();
  REQUIRE(left.size() == 1);
  CHECK(left[0].payment == payment(2));
  REQUIRE(left[0].last_sent);
  CHECK(*left[0].last_sent == SentRecord{payment(2).id, 1, UtcMillis{5000}});
  CHECK(j->unsettled() == std::vector<AcceptedPayment>{payment(2)});
}

TEST_CASE("journal: a purge during a compaction wins") {
  auto path = journal_path("compact-clear");
  auto j = open_journal(path);
  REQUIRE(j->append_accepted({payment(1)}).is_ok());
  bool cleared = false;
  j->set_compaction_observer([&] {
    if (!cleared) REQUIRE(j->clear().is_ok());
    cleared = true;
  });
  churn_until_compacted(*j, 1, false);
  // The first compaction gave way to the purge (its snapshot held payment 1); the next one ran.
  CHECK(cleared);
  CHECK(j->compactions() == 1);
  CHECK(j->unsettled().empty());
  CHECK(open_journal(path)->unsettled().empty());
}

// A worker-side server on a FakeSink and a client whose payments linger linger_us.
struct LingerRig {
  testing::FakeSink sink;
  Server server;
  std::atomic<size_t> acked{0};
  Client client;
  LingerRig(const char* tag, int linger_us)
      : server(socket_path(tag), sink), client(options(socket_path(tag), linger_us)) {
    REQUIRE(server.start().is_ok());
    REQUIRE(client.start().is_ok());
  }
  ClientOptions options(const std::string& addr, int linger_us) {
    return ClientOptions{addr, 64, 2000,
                         [this](const std::vector<Uuid>& ids) { acked += ids.size(); }, linger_us};
  }
  void wait_acked(size_t n) {
    for (int i = 0; i < 300 && acked.load() < n; ++i) std::this_thread::sleep_for(10ms);
  }
};

TEST_CASE("payments linger to share one frame - a summary skips the linger and takes them along") {
  LingerRig rig("linger", 60'000'000);  // a minute: only the summary can send them in time
  for (int i = 0; i < 5; ++i) rig.client.deliver(payment(i));
  SummaryWaiter sw;
  rig.client.summarize(summary::Window{}, &sw);
  auto totals = sw.p.get_future().get();
  REQUIRE(totals.is_ok());
  // Sent in order ahead of the summary, in one frame.
  CHECK(totals->default_totals.requests == 5);
  CHECK(rig.sink.batches() == 1);
  rig.wait_acked(5);
  CHECK(rig.acked.load() == 5);
}

TEST_CASE("lingering payments are delivered without any other request") {
  LingerRig rig("linger-alone", 5000);
  for (int i = 0; i < 200; ++i) {
    rig.client.deliver(payment(i));
    if (i % 50 == 0) std::this_thread::sleep_for(20ms);
  }
  rig.wait_acked(200);
  CHECK(rig.acked.load() == 200);
  CHECK(rig.sink.size() == 200);
}
