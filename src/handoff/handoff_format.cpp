// Encoding and incremental decoding of hand-off frames (layout in handoff_format.hpp).
#include "handoff/handoff_format.hpp"

#include <cstring>

#include "handoff/wire.hpp"

namespace rinha::handoff {
namespace {

using namespace wire;

class Reader {
 public:
  Reader(const char* p, size_t n) : p_(p), n_(n) {}
  bool u8(uint8_t& v) {
    if (n_ < 1) return false;
    v = static_cast<uint8_t>(*p_);
    ++p_, --n_;
    return true;
  }
  bool u32(uint32_t& v) {
    if (n_ < 4) return false;
    v = get_u32(p_);
    p_ += 4, n_ -= 4;
    return true;
  }
  bool u64(uint64_t& v) {
    if (n_ < 8) return false;
    v = get_u64(p_);
    p_ += 8, n_ -= 8;
    return true;
  }
  bool i64(int64_t& v) {
    uint64_t u;
    if (!u64(u)) return false;
    v = static_cast<int64_t>(u);
    return true;
  }
  bool bytes(uint8_t* dst, size_t k) {
    if (n_ < k) return false;
    std::memcpy(dst, p_, k);
    p_ += k, n_ -= k;
    return true;
  }
  size_t left() const { return n_; }

 private:
  const char* p_;
  size_t n_;
};

Status bad(const char* what) {
  return Status::invalid_argument(std::string("handoff frame: ") + what);
}

}  // namespace

void encode(const Frame& f, std::string& out) {
  size_t start = out.size();
  put_u32(out, 0);  // patched below
  put_u8(out, static_cast<uint8_t>(f.type));
  put_u64(out, f.seq);
  switch (f.type) {
    case FrameType::kPayments:
      put_u32(out, static_cast<uint32_t>(f.payments.size()));
      for (const auto& p : f.payments) {
        out.append(reinterpret_cast<const char*>(p.id.bytes.data()), 16);
        put_i64(out, p.amount.value);
        put_i64(out, p.accepted_at.value);
      }
      break;
    case FrameType::kPaymentsAck:
    case FrameType::kPurgeReply:
      put_u8(out, f.status);
      break;
    case FrameType::kSummaryRequest:
      put_i64(out, f.from_ms);
      put_i64(out, f.to_ms);
      put_i64(out, f.asked_ns);
      break;
    case FrameType::kSummaryReply:
      put_u8(out, f.status);
      put_i64(out, f.totals.default_totals.requests);
      put_i64(out, f.totals.default_totals.amount.value);
      put_i64(out, f.totals.fallback_totals.requests);
      put_i64(out, f.totals.fallback_totals.amount.value);
      break;
    case FrameType::kPurgeRequest:
      break;
  }
  uint32_t body = static_cast<uint32_t>(out.size() - start - 4);
  for (int i = 0; i < 4; ++i) out[start + i] = static_cast<char>(body >> (8 * i));
}

Result<std::optional<Frame>> FrameDecoder::next() {
  if (pos_ > 0 && pos_ * 2 > buf_.size()) {  // compact now and then, not per frame
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  size_t avail = buf_.size() - pos_;
  if (avail < 4) return std::optional<Frame>{};
  Reader hdr(buf_.data() + pos_, 4);
  uint32_t body_len = 0;
  hdr.u32(body_len);
  if (body_len < 1 || body_len > kMaxFrameBody) return bad("bad length");
  if (avail < 4 + static_cast<size_t>(body_len)) return std::optional<Frame>{};
  Reader r(buf_.data() + pos_ + 4, body_len);
  Frame f;
  uint8_t type = 0;
  r.u8(type);
  f.type = static_cast<FrameType>(type);
  if (!r.u64(f.seq)) return bad("truncated");
  switch (f.type) {
    case FrameType::kPayments: {
      uint32_t n = 0;
      if (!r.u32(n)) return bad("truncated");
      if (static_cast<size_t>(n) * kPaymentWire != r.left())
        return bad("payment count does not match length");
      f.payments.resize(n);
      for (auto& p : f.payments) {
        r.bytes(p.id.bytes.data(), 16);
        r.i64(p.amount.value);
        r.i64(p.accepted_at.value);
      }
      break;
    }
    case FrameType::kPaymentsAck:
    case FrameType::kPurgeReply:
      if (!r.u8(f.status)) return bad("truncated");
      break;
    case FrameType::kSummaryRequest:
      if (!r.i64(f.from_ms) || !r.i64(f.to_ms) || !r.i64(f.asked_ns)) return bad("truncated");
      break;
    case FrameType::kSummaryReply:
      if (!r.u8(f.status) || !r.i64(f.totals.default_totals.requests) ||
          !r.i64(f.totals.default_totals.amount.value) ||
          !r.i64(f.totals.fallback_totals.requests) ||
          !r.i64(f.totals.fallback_totals.amount.value))
        return bad("truncated");
      break;
    case FrameType::kPurgeRequest:
      break;
    default:
      return bad("unknown type");
  }
  if (r.left() != 0) return bad("trailing bytes");
  pos_ += 4 + body_len;
  return std::optional<Frame>{std::move(f)};
}

}  // namespace rinha::handoff
