// Journal: an append-only record of payments accepted and not yet passed on, so that a 2xx
// given by an api survives a crash of any process. Two links of one chain use it:
//   api (api.journal_path): appended BEFORE the HTTP 202; settled once the worker acked it.
//   worker (handoff.journal_path): appended BEFORE the ack to the api; settled only AFTER the
//     payment's ledger row is committed in PostgreSQL.
// On start, unsettled() lists what may still need passing on: the api hands it off again (the
// worker ignores ids it has), the worker resolves each with GET /payments/{id} on the
// processors before sending anything (a crash may have happened after a processor recorded
// it). Durability (handoff.durability):
//   process: a memcpy into a shared mapping of the file per append (MappedFile: no syscall on
//     the appending thread, space preallocated); survives any process crash (the page cache
//     outlives us).
//   machine: the same + msync(MS_SYNC) of the record; survives power loss, a disk flush each.
// The file is rewritten (compacted) to the live entries when mostly settled. The rewrite runs
// outside the mutex (appends made meanwhile go to both files), so an api's reactor appending a
// payment never waits for it.
//
// File layout (little-endian), one record per append:
//   record := u32 body_len | u8 type | body | u32 checksum(type|body)
//   ACCEPTED (1): n x (16B id | i64 cents | i64 accepted_ms)
//   SETTLED  (2): n x 16B id
//   SENT     (3): n x (16B id | u8 processor | i64 requested_ms)   (worker only)
// SENT is appended by the worker before each POST /payments leaves the process: the processor
// it goes to and the requestedAt stamped. A restart looks such a payment up on the processors at
// once and knows which summary windows it may fall in; an entry with no SENT never left us.
// A torn or corrupt tail (crash mid-write) ends replay; everything before it counts. The file is
// longer than its records (preallocated zeros, a zero length ends replay); open() cuts it to
// the records before it preallocates again.
// Threading: all methods are safe to call from any thread (one internal mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/durability.hpp"
#include "common/status.hpp"
#include "handoff/handoff_format.hpp"
#include "handoff/mapped_file.hpp"

namespace rinha::handoff {

// A payment's last POST /payments, as journaled.
struct SentRecord {
  Uuid id;
  uint8_t processor = 0;  // processor_index()
  UtcMillis requested_at;
  friend bool operator==(const SentRecord&, const SentRecord&) = default;
};

struct JournalEntry {
  AcceptedPayment payment;
  std::optional<SentRecord> last_sent;  // none: never sent
};

class Journal {
 public:
  // Opens (creating if absent) and replays the file at path. Fails if it cannot be opened or
  // written; a corrupt tail is truncated away, not an error. durability: kProcess or kMachine
  // (kNone means no journal: the caller opens none).
  static Result<std::unique_ptr<Journal>> open(const std::string& path, Durability durability);
  ~Journal();

  // Accepted payments without a settled record, in acceptance order (as found at open, plus
  // anything appended since and not settled).
  std::vector<AcceptedPayment> unsettled() const;
  // The same, each with its last SENT record.
  std::vector<JournalEntry> unsettled_entries() const;

  // Durable per the Durability once this returns OK.
  Status append_accepted(const std::vector<AcceptedPayment>& batch);
  // Durable as append_accepted(); ids no longer live are ignored.
  Status append_sent(const std::vector<SentRecord>& sends);
  // Not synced: losing a settled record only costs a lookup on the next start.
  Status append_settled(const std::vector<Uuid>& ids);
  // Forgets everything (purge).
  Status clear();

  size_t live_count() const;
  uint64_t file_bytes() const;
  uint64_t compactions() const;

  // Tests: called while a compaction writes its new file, without the mutex held.
  void set_compaction_observer(std::function<void()> f) { compaction_observer_ = std::move(f); }

 private:
  Journal(std::string path, Durability d, MappedFile file);
  struct Live {
    uint64_t order = 0;
    AcceptedPayment payment;
    std::optional<SentRecord> last_sent;
  };
  Status write_record(uint8_t type, const std::string& body, bool sync);
  // Under mu_: the live entries if a compaction is due and none runs, marking one as running.
  std::optional<std::vector<Live>> begin_compaction();
  Status compact(std::vector<Live> snapshot);
  Status replay();

  const std::string path_;
  const Durability durability_;
  mutable std::mutex mu_;
  MappedFile file_;             // guarded by mu_
  uint64_t bytes_ = 0;          // guarded by mu_; end of the records (the file is longer)
  uint64_t next_order_ = 0;     // guarded by mu_
  uint64_t compactions_ = 0;    // guarded by mu_
  uint64_t generation_ = 0;     // guarded by mu_; clear() bumps it, voiding a running compaction
  bool compacting_ = false;     // guarded by mu_
  std::string since_snapshot_;  // guarded by mu_; records appended while compacting_
  std::unordered_map<Uuid, Live, UuidHash> live_;  // guarded by mu_
  std::function<void()> compaction_observer_;
};

}  // namespace rinha::handoff
