// HTTP client for operator and measuring tools: blocking requests over libcurl with a reusable
// keep-alive connection, and a batch of requests sent in parallel.
//
// Threading: an HttpClient belongs to one thread at a time (it owns one curl easy handle).
// http_parallel() may be called from any thread; it builds its own handles.
// Failures (connect, timeout) come back as a Status; any HTTP status, including 5xx, is a
// successful transfer and is reported in HttpResponse::status.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.hpp"

namespace rinha::http {

struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT
  std::string url;
  std::string body;  // sent with Content-Type: application/json when non-empty or POST/PUT
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{1500};
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  // Time from the start to the last byte received minus the connect phase (what k6 calls
  // http_req_duration). curl's PRETRANSFER mark is useless here: in multi mode it is set after
  // the response has arrived.
  std::chrono::microseconds duration{0};
  std::string header(const std::string& lower_name) const;
};

// One curl easy handle and hence one reused connection per host.
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Fails with kTimeout when the timeout elapses, kUnavailable when the connection fails, and
  // kIoError for any other transport error.
  Result<HttpResponse> send(const HttpRequest& req);

 private:
  void* curl_;  // CURL*, kept opaque so that callers need no curl header
};

// Sends every request at once (one connection each) and waits for all; results keep the order.
std::vector<Result<HttpResponse>> http_parallel(const std::vector<HttpRequest>& reqs);

// Convenience: one blocking request on a fresh handle.
Result<HttpResponse> http_send(const HttpRequest& req);

// Percent-encodes a query parameter value (ISO timestamps pass through unchanged).
std::string url_escape(const std::string& s);

}  // namespace rinha::http
