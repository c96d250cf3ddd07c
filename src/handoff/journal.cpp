// Append-only journal of accepted payments (layout and ordering rules in journal.hpp).
// Reads config (through open()): api.journal_path or handoff.journal_path, handoff.durability.
#include "handoff/journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/errno_text.hpp"
#include "handoff/wire.hpp"

namespace rinha::handoff {
namespace {

constexpr uint8_t kAccepted = 1;
constexpr uint8_t kSettled = 2;
constexpr uint8_t kSent = 3;
constexpr size_t kSentWire = 16 + 1 + 8;
constexpr uint64_t kCompactMinBytes = 8u << 20;

// FNV-1a, 32 bit: detects torn and garbage tails; not a defence against tampering.
uint32_t checksum(const char* p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<uint8_t>(p[i])) * 16777619u;
  return h;
}

using namespace wire;

std::string encode_record(uint8_t type, const std::string& body) {
  std::string rec;
  put_u32(rec, static_cast<uint32_t>(body.size() + 1));
  rec.push_back(static_cast<char>(type));
  rec += body;
  put_u32(rec, checksum(rec.data() + 4, body.size() + 1));
  return rec;
}

std::string accepted_body(const std::vector<AcceptedPayment>& batch) {
  std::string body;
  body.reserve(batch.size() * kPaymentWire);
  for (const auto& p : batch) {
    body.append(reinterpret_cast<const char*>(p.id.bytes.data()), 16);
    put_i64(body, p.amount.value);
    put_i64(body, p.accepted_at.value);
  }
  return body;
}

std::string sent_body(const std::vector<SentRecord>& sends) {
  std::string body;
  body.reserve(sends.size() * kSentWire);
  for (const auto& s : sends) {
    body.append(reinterpret_cast<const char*>(s.id.bytes.data()), 16);
    body.push_back(static_cast<char>(s.processor));
    put_i64(body, s.requested_at.value);
  }
  return body;
}

}  // namespace

Journal::Journal(std::string path, Durability d, MappedFile file)
    : path_(std::move(path)), durability_(d), file_(std::move(file)) {}

Journal::~Journal() = default;

Result<std::unique_ptr<Journal>> Journal::open(const std::string& path, Durability durability) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::io_error("journal " + path + ": " + errno_text(errno));
  std::unique_ptr<Journal> j(new Journal(path, durability, MappedFile(fd)));
  Status s = j->replay();
  if (!s.is_ok()) return s;
  return j;
}

Status Journal::replay() {
  std::lock_guard lock(mu_);
  struct stat st {};
  if (::fstat(file_.fd(), &st) != 0) return Status::io_error("journal stat: " + errno_text(errno));
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t r = ::pread(file_.fd(), data.data() + got, data.size() - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Status::io_error("journal read: " + errno_text(errno));
    got += static_cast<size_t>(r);
  }
  size_t pos = 0;
  while (pos + 4 <= data.size()) {
    uint32_t len = get_u32(data.data() + pos);
    if (len < 1 || pos + 4 + len + 4 > data.size()) break;
    const char* body = data.data() + pos + 4;
    if (checksum(body, len) != get_u32(body + len)) break;
    uint8_t type = static_cast<uint8_t>(body[0]);
    size_t n = len - 1;
    const char* p = body + 1;
    if (type == kAccepted && n % kPaymentWire == 0) {
      for (size_t i = 0; i < n; i += kPaymentWire) {
        AcceptedPayment a;
        std::memcpy(a.id.bytes.data(), p + i, 16);
        a.amount.value = get_i64(p + i + 16);
        a.accepted_at.value = get_i64(p + i + 24);
        live_.try_emplace(a.id, Live{next_order_++, a, std::nullopt});
      }
    } else if (type == kSent && n % kSentWire == 0) {
      for (size_t i = 0; i < n; i += kSentWire) {
        SentRecord r;
        std::memcpy(r.id.bytes.data(), p + i, 16);
        r.processor = static_cast<uint8_t>(p[i + 16]);
        r.requested_at.value = get_i64(p + i + 17);
        if (auto it = live_.find(r.id); it != live_.end()) it->second.last_sent = r;
      }
    } else if (type == kSettled && n % 16 == 0) {
      for (size_t i = 0; i < n; i += 16) {
        Uuid id;
        std::memcpy(id.bytes.data(), p + i, 16);
        live_.erase(id);
      }
    } else {
      break;
    }
    pos += 4 + len + 4;
  }
  // A torn or garbage tail is cut away, so that past bytes_ there are only zeros (what was
  // preallocated and never written stays: cutting it would leave the mapping of a second
  // opener, e.g. a test's, over nothing).
  if (data.find_first_not_of('\0', pos) != std::string::npos) {
    Status s = file_.truncate(pos);
    if (!s.is_ok()) return s;
  }
  bytes_ = pos;
  // Failing here (disk full) is not fatal: each append reserves again and fails on its own.
  (void)file_.reserve(pos + MappedFile::kStep);
  return Status::ok();
}

std::vector<AcceptedPayment> Journal::unsettled() const {
  std::vector<AcceptedPayment> out;
  for (auto& e : unsettled_entries()) out.push_back(e.payment);
  return out;
}

std::vector<JournalEntry> Journal::unsettled_entries() const {
  std::lock_guard lock(mu_);
  std::vector<const Live*> v;
  v.reserve(live_.size());
  for (const auto& [id, e] : live_) v.push_back(&e);
  std::sort(v.begin(), v.end(), [](const Live* a, const Live* b) { return a->order < b->order; });
  std::vector<JournalEntry> out;
  out.reserve(v.size());
  for (const Live* e : v) out.push_back(JournalEntry{e->payment, e->last_sent});
  return out;
}

Status Journal::write_record(uint8_t type, const std::string& body, bool sync) {
  std::string rec = encode_record(type, body);
  Status s = file_.write(bytes_, rec, sync);
  if (!s.is_ok()) return s;
  bytes_ += rec.size();
  if (compacting_) since_snapshot_ += rec;
  return Status::ok();
}

Status Journal::append_accepted(const std::vector<AcceptedPayment>& batch) {
  if (batch.empty()) return Status::ok();
  std::lock_guard lock(mu_);
  Status s = write_record(kAccepted, accepted_body(batch), durability_ == Durability::kMachine);
  if (!s.is_ok()) return s;
  for (const auto& p : batch) live_.try_emplace(p.id, Live{next_order_++, p, std::nullopt});
  return Status::ok();
}

Status Journal::append_sent(const std::vector<SentRecord>& sends) {
  if (sends.empty()) return Status::ok();
  std::lock_guard lock(mu_);
  Status s = write_record(kSent, sent_body(sends), durability_ == Durability::kMachine);
  if (!s.is_ok()) return s;
  for (const auto& r : sends)
    if (auto it = live_.find(r.id); it != live_.end()) it->second.last_sent = r;
  return Status::ok();
}

Status Journal::append_settled(const std::vector<Uuid>& ids) {
  if (ids.empty()) return Status::ok();
  std::optional<std::vector<Live>> snapshot;
  {
    std::lock_guard lock(mu_);
    std::string body;
    body.reserve(ids.size() * 16);
    for (const auto& id : ids) {
      body.append(reinterpret_cast<const char*>(id.bytes.data()), 16);
      live_.erase(id);
    }
    Status s = write_record(kSettled, body, false);
    if (!s.is_ok()) return s;
    snapshot = begin_compaction();
  }
  return snapshot ? compact(std::move(*snapshot)) : Status::ok();
}

std::optional<std::vector<Journal::Live>> Journal::begin_compaction() {
  if (compacting_ || bytes_ < kCompactMinBytes || live_.size() * kPaymentWire * 4 > bytes_)
    return std::nullopt;
  std::vector<Live> v;
  v.reserve(live_.size());
  for (const auto& [id, e] : live_) v.push_back(e);
  compacting_ = true;
  since_snapshot_.clear();
  return v;
}

// Writes the snapshot's live entries to a temp file without the mutex, then, under it, adds the
// records appended since the snapshot and renames the file over the journal: a crash at any
// point leaves either the old or the new file complete, and both hold every live entry.
Status Journal::compact(std::vector<Live> snapshot) {
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    generation = generation_;
  }
  std::sort(snapshot.begin(), snapshot.end(),
            [](const Live& a, const Live& b) { return a.order < b.order; });
  std::vector<AcceptedPayment> batch;
  std::vector<SentRecord> sends;
  batch.reserve(snapshot.size());
  for (const Live& e : snapshot) {
    batch.push_back(e.payment);
    if (e.last_sent) sends.push_back(*e.last_sent);
  }
  std::string rec = batch.empty() ? std::string() : encode_record(kAccepted, accepted_body(batch));
  if (!sends.empty()) rec += encode_record(kSent, sent_body(sends));
  std::string tmp = path_ + ".compact";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  MappedFile next(fd);
  // Reserved here, outside the mutex, with room for the appends to come.
  Status s = fd < 0 ? Status::io_error("journal compact: " + errno_text(errno))
                    : next.reserve(rec.size() + MappedFile::kStep);
  if (s.is_ok()) s = next.write(0, rec, false);
  if (compaction_observer_) compaction_observer_();

  std::lock_guard lock(mu_);
  compacting_ = false;
  if (s.is_ok() && generation != generation_) s = Status::io_error("journal cleared meanwhile");
  if (s.is_ok()) s = next.write(rec.size(), since_snapshot_, false);
  // Only machine durability needs the new file on disk before it replaces the old one.
  if (s.is_ok() && durability_ == Durability::kMachine && ::fsync(next.fd()) != 0)
    s = Status::io_error("journal compact fsync");
  if (s.is_ok() && ::rename(tmp.c_str(), path_.c_str()) != 0)
    s = Status::io_error("journal compact rename");
  const uint64_t new_bytes = rec.size() + since_snapshot_.size();
  since_snapshot_ = std::string();
  if (!s.is_ok()) {
    ::unlink(tmp.c_str());  // next closes it
    // Cleared meanwhile: the old file is the truth and nothing failed.
    return generation != generation_ ? Status::ok() : s;
  }
  file_ = std::move(next);
  bytes_ = new_bytes;
  ++compactions_;
  return Status::ok();
}

Status Journal::clear() {
  std::lock_guard lock(mu_);
  live_.clear();
  ++generation_;
  Status s = file_.truncate(0);
  if (!s.is_ok()) return s;
  bytes_ = 0;
  if (durability_ == Durability::kMachine) ::fdatasync(file_.fd());
  // The next append would reserve too; here it stays off the reactor.
  (void)file_.reserve(MappedFile::kStep);
  return Status::ok();
}

size_t Journal::live_count() const {
  std::lock_guard lock(mu_);
  return live_.size();
}

uint64_t Journal::file_bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

uint64_t Journal::compactions() const {
  std::lock_guard lock(mu_);
  return compactions_;
}

}  // namespace rinha::handoff
