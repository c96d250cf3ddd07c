// How every Pistache handler (api, worker /metrics, processor emulator) answers, so that the
// keep-alive workaround lives in one place. Pistache 0.0.5 writes "Connection: Close" on any
// HTTP/1.1 response whose request did not say "Connection: keep-alive" (HAProxy strips that
// header), yet keeps the socket open; dropping the header lets HTTP/1.1's default persistence
// apply, so HAProxy reuses its backend connections instead of reconnecting per request
// (measured: ~2x throughput, p99 3.1 -> 0.8 ms; shared/notes/debian-deps.md).
//
// Threading: reply() may run on any thread that owns the writer (Pistache queues the write to
// the connection's reactor).
#pragma once

#include <pistache/http.h>

#include <string>

namespace rinha::net {

// True for an HTTP/1.1 request that did not ask "Connection: close" (the response may then
// go without a Connection header); false for HTTP/1.0, which Pistache answers as it should.
bool wants_keep_alive(const Pistache::Http::Request& req);

enum class BodyType { kJson, kText };

// Sends `code` with `body` (no body when empty). With keep_alive the response carries no
// Connection header (HTTP/1.1: persistent); without it, Pistache's "Connection: Close" stays.
void reply(Pistache::Http::ResponseWriter& w, Pistache::Http::Code code,
           const std::string& body = {}, BodyType type = BodyType::kJson, bool keep_alive = true);

}  // namespace rinha::net
