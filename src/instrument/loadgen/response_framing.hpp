// HTTP/1.x response framing for the load tool's own POST client (payments_driver.cpp): where
// the response to one request ends in a receive buffer, its status, and whether the connection
// stays open. Bodies by Content-Length, chunked, or up to the close; 1xx answers are skipped.
// Pure: no I/O, no allocation.
#pragma once

#include <cstddef>
#include <string_view>

namespace rinha::loadgen {

struct FramedResponse {
  enum class State { kIncomplete, kComplete, kBad };
  State state = State::kIncomplete;
  int status = 0;
  bool keep_alive = false;  // HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive
  size_t length = 0;        // bytes of `buf` the response spans (kComplete)
};

// Frames the response at the start of `buf`; `eof`: the peer closed after these bytes (what
// completes a body without length, and makes anything else incomplete bad).
FramedResponse frame_response(std::string_view buf, bool eof);

}  // namespace rinha::loadgen
