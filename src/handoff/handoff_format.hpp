// The api <-> worker hand-off protocol, shared by both sides (handoff/client.hpp in the api,
// handoff/server.hpp in the worker). A persistent stream (Unix socket by default, TCP allowed)
// carries length-prefixed frames; all integers little-endian.
//
// clang-format off
//   frame   := u32 body_len | u8 type | body            (body_len <= kMaxFrameBody)
//
//   type            direction    body
//   PAYMENTS        api->worker  u64 seq | u32 n | n x (16B uuid | i64 cents | i64 accepted_ms)
//   PAYMENTS_ACK    worker->api  u64 seq | u8 status   (ack of every PAYMENTS frame, in order)
//   SUMMARY_REQ     api->worker  u64 seq | i64 from_ms | i64 to_ms   (inclusive; see summary/)
//                                | i64 asked_ns   (steady clock when the api received it)
//   SUMMARY_REPLY   worker->api  u64 seq | u8 status | i64 def_n | i64 def_cents
//                                | i64 fb_n | i64 fb_cents
//   PURGE_REQ       api->worker  u64 seq
//   PURGE_REPLY     worker->api  u64 seq | u8 status
// clang-format on
//
// seq is chosen by the api and echoed, so replies can be matched without ordering assumptions.
// status 0 = ok, anything else = the worker could not do it: a refused PAYMENTS batch is sent
// again later, a failed summary or purge is answered 503.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/money.hpp"
#include "common/status.hpp"
#include "common/time.hpp"
#include "common/uuid.hpp"
#include "summary/summary.hpp"

namespace rinha::handoff {

inline constexpr uint32_t kMaxFrameBody = 4u << 20;
inline constexpr size_t kFrameHeader = 5;
inline constexpr size_t kPaymentWire = 32;

enum class FrameType : uint8_t {
  kPayments = 1,
  kPaymentsAck = 2,
  kSummaryRequest = 3,
  kSummaryReply = 4,
  kPurgeRequest = 5,
  kPurgeReply = 6,
};

// A payment as accepted by an api: what the worker must get processed exactly once.
struct AcceptedPayment {
  Uuid id;
  Cents amount;
  UtcMillis accepted_at;  // when the api accepted it (not the requestedAt sent to processors)
  friend bool operator==(const AcceptedPayment&, const AcceptedPayment&) = default;
};

using summary::ProcessorTotals;
using summary::SummaryTotals;

// One decoded frame. Only the fields of its type are meaningful.
struct Frame {
  FrameType type{};
  uint64_t seq = 0;
  uint8_t status = 0;
  std::vector<AcceptedPayment> payments;  // kPayments
  int64_t from_ms = 0, to_ms = 0;         // kSummaryRequest
  int64_t asked_ns = 0;                   // kSummaryRequest: steady_clock, same host
  SummaryTotals totals;                   // kSummaryReply
};

// Appends one encoded frame to out.
void encode(const Frame& f, std::string& out);

// Incremental decoder for a byte stream. feed() appends bytes; next() yields complete frames.
// A malformed or oversized frame makes next() return an error; the stream is then unusable and
// the connection must be closed.
class FrameDecoder {
 public:
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // A frame, std::nullopt when more bytes are needed, or an error.
  Result<std::optional<Frame>> next();

 private:
  std::string buf_;
  size_t pos_ = 0;
};

}  // namespace rinha::handoff
