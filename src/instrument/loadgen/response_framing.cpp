// HTTP/1.x response framing (see response_framing.hpp).
#include "instrument/loadgen/response_framing.hpp"

#include <cstdint>

#include "common/http_text.hpp"

namespace rinha::loadgen {
namespace {

constexpr size_t kMaxHead = 65536;
constexpr uint64_t kMaxBody = uint64_t{1} << 32;

using State = FramedResponse::State;

// Whether the comma-separated header value lists `token` (case-insensitive).
bool lists(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    if (iequals_ascii(trim_ows(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// Digits (hex when base 16) up to the end of `s`; false when empty, another char or too large.
bool parse_number(std::string_view s, int base, uint64_t& out) {
  if (s.empty()) return false;
  out = 0;
  for (char c : s) {
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    if (d < 0) return false;
    out = out * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    if (out > kMaxBody) return false;
  }
  return true;
}

// The end of a chunked body starting at `at`: kComplete with `end` set, or why not.
State chunked_end(std::string_view buf, size_t at, size_t& end) {
  for (;;) {
    const size_t eol = buf.find("\r\n", at);
    if (eol == std::string_view::npos) return State::kIncomplete;
    std::string_view size_text = buf.substr(at, eol - at);
    size_text = trim_ows(size_text.substr(0, size_text.find(';')));  // chunk extensions
    uint64_t size = 0;
    if (!parse_number(size_text, 16, size)) return State::kBad;
    at = eol + 2;
    if (size == 0) {  // trailers, if any, then an empty line
      if (buf.substr(at, 2) == "\r\n") {
        end = at + 2;
        return State::kComplete;
      }
      const size_t trailers = buf.find("\r\n\r\n", at);
      if (trailers == std::string_view::npos) return State::kIncomplete;
      end = trailers + 4;
      return State::kComplete;
    }
    if (buf.size() < at + size + 2) return State::kIncomplete;
    if (buf.substr(at + size, 2) != "\r\n") return State::kBad;
    at += size + 2;
  }
}

}  // namespace

FramedResponse frame_response(std::string_view buf, bool eof) {
  FramedResponse r;
  size_t at = 0;
  for (;;) {
    const size_t head_end = buf.find("\r\n\r\n", at);
    if (head_end == std::string_view::npos) {
      if (eof || buf.size() - at > kMaxHead) r.state = State::kBad;
      return r;
    }
    std::string_view head = buf.substr(at, head_end - at);
    const size_t line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    // "HTTP/1.x NNN[ reason]"
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ' ||
        (line.size() > 12 && line[12] != ' ')) {
      r.state = State::kBad;
      return r;
    }
    uint64_t status = 0;
    if (!parse_number(line.substr(9, 3), 10, status) || status < 100) {
      r.state = State::kBad;
      return r;
    }
    bool close = false, keep_alive = false, chunked = false, has_length = false;
    uint64_t length = 0;
    std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
    while (!rest.empty()) {
      const size_t eol = rest.find("\r\n");
      const std::string_view h = rest.substr(0, eol);
      rest = eol == std::string_view::npos ? "" : rest.substr(eol + 2);
      const size_t colon = h.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string_view name = trim_ows(h.substr(0, colon));
      const std::string_view value = trim_ows(h.substr(colon + 1));
      if (iequals_ascii(name, "content-length")) {
        if (!parse_number(value, 10, length)) {
          r.state = State::kBad;
          return r;
        }
        has_length = true;
      } else if (iequals_ascii(name, "transfer-encoding")) {
        chunked = lists(value, "chunked");
      } else if (iequals_ascii(name, "connection")) {
        close = close || lists(value, "close");
        keep_alive = keep_alive || lists(value, "keep-alive");
      }
    }
    const size_t body = head_end + 4;
    if (status < 200) {  // an interim answer (100 Continue, 103): the real one follows
      at = body;
      continue;
    }
    r.status = static_cast<int>(status);
    r.keep_alive = !close && (line[7] == '1' || keep_alive);
    if (status == 204 || status == 304) {
      r.length = body;
    } else if (chunked) {
      size_t end = 0;
      const State s = chunked_end(buf, body, end);
      if (s != State::kComplete) {
        r.state = s == State::kIncomplete && eof ? State::kBad : s;
        return r;
      }
      r.length = end;
    } else if (has_length) {
      if (buf.size() < body + length) {
        if (eof) r.state = State::kBad;
        return r;
      }
      r.length = body + static_cast<size_t>(length);
    } else {  // delimited by the close
      r.keep_alive = false;
      if (!eof) return r;
      r.length = buf.size();
    }
    r.state = State::kComplete;
    return r;
  }
}

}  // namespace rinha::loadgen
