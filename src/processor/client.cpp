// libcurl multi client for the payment processors. Config keys (via EndpointConfig):
// processors.<p>.url, .timeout_ms, .connect_timeout_ms, .max_connections.
// Sends "Connection: keep-alive" (Pistache-based servers close otherwise) and an empty
// "Expect:" (no 100-continue round trip). Does not retry anything itself: callers decide.
#include "processor/client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <stdexcept>

namespace rinha::processor {

struct Client::Transfer {
  CURL* easy = nullptr;
  Processor processor = Processor::kDefault;
  std::string url;
  std::string request_body;
  std::string response_body;
  Callback cb;
  std::chrono::steady_clock::time_point started;
  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
  }
};

namespace {

size_t on_data(char* ptr, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(ptr, size * n);
  return size * n;
}

Outcome from_status(long code) {
  if (code >= 200 && code < 300) return Outcome::kOk;
  if (code == 422) return Outcome::kDuplicate;
  if (code == 404) return Outcome::kNotFound;
  if (code == 429) return Outcome::kTooMany;
  if (code >= 500) return Outcome::kServerError;
  return Outcome::kRejected;
}

}  // namespace

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kDuplicate:
      return "duplicate";
    case Outcome::kNotFound:
      return "not_found";
    case Outcome::kTooMany:
      return "too_many";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kServerError:
      return "server_error";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kReset:
      return "reset";
    case Outcome::kConnectFailed:
      return "connect_failed";
  }
  return "?";
}

Client::Client(std::array<EndpointConfig, 2> endpoints) : endpoints_(std::move(endpoints)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* m = curl_multi_init();
  if (!m) throw std::runtime_error("curl_multi_init failed");
  multi_ = m;
  const int cap = std::max(endpoints_[0].max_connections, endpoints_[1].max_connections);
  // +2: a lookup or health call never has to queue inside curl behind payments; the worker
  // keeps its own starts below max_connections, so curl never holds a request back (a request
  // held back inside curl would burn its timeout while not even sent).
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(cap + 2));
  curl_multi_setopt(
      m, CURLMOPT_MAXCONNECTS,
      static_cast<long>(endpoints_[0].max_connections + endpoints_[1].max_connections + 8));
  for (auto& e : endpoints_)
    while (!e.base_url.empty() && e.base_url.back() == '/') e.base_url.pop_back();
  curl_slist* h = nullptr;
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "Connection: keep-alive");
  h = curl_slist_append(h, "Expect:");
  headers_ = h;
}

Client::~Client() {
  auto* m = static_cast<CURLM*>(multi_);
  // Transfers still running are abandoned; their callbacks never run.
  for (Transfer* t : running_) {
    curl_multi_remove_handle(m, t->easy);
    delete t;
  }
  running_.clear();
  free_.clear();
  curl_multi_cleanup(m);
  curl_slist_free_all(static_cast<curl_slist*>(headers_));
}

void Client::pay(Processor p, const PaymentRequest& req, Callback cb) {
  start(p, "/payments", payment_json(req), endpoints_[router::index(p)].timeout_ms, std::move(cb));
}

void Client::lookup(Processor p, const Uuid& id, int timeout_ms, Callback cb) {
  start(p, "/payments/" + format_uuid(id), std::string(), timeout_ms, std::move(cb));
}

void Client::health(Processor p, int timeout_ms, Callback cb) {
  start(p, "/payments/service-health", std::string(), timeout_ms, std::move(cb));
}

void Client::start(Processor p, const std::string& path, std::string body, int timeout_ms,
                   Callback cb) {
  std::unique_ptr<Transfer> t;
  if (!free_.empty()) {
    t = std::move(free_.back());
    free_.pop_back();
    curl_easy_reset(t->easy);
  } else {
    t = std::make_unique<Transfer>();
    t->easy = curl_easy_init();
    if (!t->easy) throw std::runtime_error("curl_easy_init failed");
  }
  const EndpointConfig& ep = endpoints_[router::index(p)];
  t->processor = p;
  t->url = ep.base_url + path;
  t->request_body = std::move(body);
  t->response_body.clear();
  t->cb = std::move(cb);
  t->started = std::chrono::steady_clock::now();
  CURL* e = t->easy;
  curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(headers_));
  if (!t->request_body.empty()) {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->request_body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(t->request_body.size()));
  }
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t->response_body);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(ep.connect_timeout_ms));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  ++in_flight_[router::index(p)];
  ++active_;
  Transfer* raw = t.release();
  running_.insert(raw);
  if (curl_multi_add_handle(static_cast<CURLM*>(multi_), e) != CURLM_OK)
    finish(raw, CURLE_FAILED_INIT);
}

void Client::finish(Transfer* raw, int curl_code) {
  std::unique_ptr<Transfer> t(raw);
  running_.erase(raw);
  Reply r;
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t->started);
  long request_bytes = 0;
  curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_bytes);
  const bool sent = request_bytes > 0;
  if (curl_code == CURLE_OK) {
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.http_status);
    r.outcome = from_status(r.http_status);
  } else if (!sent) {
    r.outcome = Outcome::kConnectFailed;
  } else if (curl_code == CURLE_OPERATION_TIMEDOUT) {
    r.outcome = Outcome::kTimeout;
  } else {
    r.outcome = Outcome::kReset;
  }
  r.body = std::move(t->response_body);
  --in_flight_[router::index(t->processor)];
  --active_;
  Callback cb = std::move(t->cb);
  t->cb = nullptr;
  t->request_body.clear();
  free_.push_back(std::move(t));
  if (cb) cb(r);
}

void Client::run_once(int max_wait_ms) {
  auto* m = static_cast<CURLM*>(multi_);
  int running = 0;
  curl_multi_poll(m, nullptr, 0, std::max(0, max_wait_ms), nullptr);
  curl_multi_perform(m, &running);
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(m, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* e = msg->easy_handle;
    const int code = msg->data.result;
    Transfer* t = nullptr;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &t);
    curl_multi_remove_handle(m, e);
    finish(t, code);
  }
}

void Client::wakeup() { curl_multi_wakeup(static_cast<CURLM*>(multi_)); }

}  // namespace rinha::processor
