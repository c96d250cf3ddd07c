// HTTP/1.1 request framing for the do-nothing backend (`rinhactl noop`): where one request ends
// in a receive buffer and what the answer is. Pure: no I/O, no allocation beyond the result.
#pragma once

#include <cstddef>
#include <string_view>

namespace rinha::noop {

struct Framed {
  // 0: the buffer does not hold a whole request yet; otherwise the bytes it spans
  // (request line, headers, Content-Length body).
  size_t length = 0;
  // Set when the head cannot be framed (no Content-Length number, head over the limit): the
  // connection is closed.
  bool bad = false;
  std::string_view method;
  std::string_view path;  // without the query string
};

inline constexpr size_t kMaxHead = 8192;

// Frames the first request in `buf`. Chunked bodies are not supported (marked bad).
Framed frame_request(std::string_view buf);

// The whole response for a framed request: 200 with an all-zero summary for
// GET /payments-summary, 200 for POST /purge-payments, 204 for GET /healthcheck, and 202 with
// no body for anything else (what a backend that accepted a payment answers at once).
std::string_view response_for(const Framed& request);

}  // namespace rinha::noop
