// Request framing and canned answers of the do-nothing backend (see framing.hpp).
#include "instrument/noop/framing.hpp"

#include <cstdint>

#include "common/http_text.hpp"

namespace rinha::noop {
namespace {

constexpr std::string_view kAccepted = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
constexpr std::string_view kNoContent = "HTTP/1.1 204 No Content\r\n\r\n";
constexpr std::string_view kSummary =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 94\r\n\r\n"
    "{\"default\":{\"totalRequests\":0,\"totalAmount\":0},"
    "\"fallback\":{\"totalRequests\":0,\"totalAmount\":0}}";
constexpr std::string_view kPurged =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n"
    "{\"message\":\"purged\"}";

}  // namespace

Framed frame_request(std::string_view buf) {
  Framed f;
  const size_t head_end = buf.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    f.bad = buf.size() > kMaxHead;
    return f;
  }
  std::string_view head = buf.substr(0, head_end);
  const size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.find(' ', sp1 == std::string_view::npos ? 0 : sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) {
    f.bad = true;
    return f;
  }
  f.method = line.substr(0, sp1);
  f.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  f.path = f.path.substr(0, f.path.find('?'));
  uint64_t body = 0;
  std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
  while (!rest.empty()) {
    const size_t eol = rest.find("\r\n");
    std::string_view h = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? "" : rest.substr(eol + 2);
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim_ows(h.substr(0, colon));
    std::string_view value = trim_ows(h.substr(colon + 1));
    if (iequals_ascii(name, "transfer-encoding")) {
      f.bad = true;
      return f;
    }
    if (!iequals_ascii(name, "content-length")) continue;
    if (value.empty() || value.size() > 9) {
      f.bad = true;
      return f;
    }
    body = 0;
    for (char c : value) {
      if (c < '0' || c > '9') {
        f.bad = true;
        return f;
      }
      body = body * 10 + static_cast<uint64_t>(c - '0');
    }
  }
  const size_t total = head_end + 4 + static_cast<size_t>(body);
  if (buf.size() >= total) f.length = total;
  return f;
}

std::string_view response_for(const Framed& request) {
  if (request.path == "/payments-summary") return kSummary;
  if (request.path == "/purge-payments") return kPurged;
  if (request.path == "/healthcheck") return kNoContent;
  return kAccepted;
}

}  // namespace rinha::noop
