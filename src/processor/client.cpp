// libcurl multi client for the payment processors. Config keys (via EndpointConfig):
// processors.<p>.url, .timeout_ms, .connect_timeout_ms, .max_connections.
// Sends "Connection: keep-alive" (Pistache-based servers close otherwise) and an empty
// "Expect:" (no 100-continue round trip). Does not retry anything itself: callers decide.
#include "processor/client.hpp"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "common/errno_text.hpp"

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

Client::Client(std::array<EndpointConfig, 2> endpoints)
    : endpoints_(std::move(endpoints)),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!epoll_.valid() || !wake_.valid())
    throw std::runtime_error("processor client: epoll/eventfd: " + errno_text(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_.get();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0)
    throw std::runtime_error("processor client: epoll_ctl: " + errno_text(errno));
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* m = curl_multi_init();
  if (!m) throw std::runtime_error("curl_multi_init failed");
  multi_ = m;
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &Client::on_socket);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &Client::on_timer);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, this);
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
  start(p, "/payments", payment_json(req), endpoints_[processor_index(p)].timeout_ms,
        std::move(cb));
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
  const EndpointConfig& ep = endpoints_[processor_index(p)];
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
  ++in_flight_[processor_index(p)];
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
  --in_flight_[processor_index(t->processor)];
  --active_;
  Callback cb = std::move(t->cb);
  t->cb = nullptr;
  t->request_body.clear();
  free_.push_back(std::move(t));
  if (cb) cb(r);
}

// curl tells which sockets to watch for what; they go into our epoll set (level-triggered, as
// curl expects). A socket in the set carries curl_multi_assign's mark (socketp), so each change
// is one epoll_ctl. The set outlives every socket: the destructor's cleanup still calls this.
int Client::on_socket(void* /*easy*/, int fd, int what, void* self, void* socketp) {
  auto* c = static_cast<Client*>(self);
  if (what == CURL_POLL_REMOVE) {
    ::epoll_ctl(c->epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);  // curl may close it first: ENOENT
    return 0;                                                  // curl forgets the mark itself
  }
  epoll_event ev{};
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0U) | (what & CURL_POLL_OUT ? EPOLLOUT : 0U);
  ev.data.fd = fd;
  if (socketp != nullptr && ::epoll_ctl(c->epoll_.get(), EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
  // New to the set (or closed and reused by the kernel under the same number meanwhile).
  if (::epoll_ctl(c->epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
    ::epoll_ctl(c->epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
  curl_multi_assign(static_cast<CURLM*>(c->multi_), fd, c);
  return 0;
}

int Client::on_timer(void* /*multi*/, long timeout_ms, void* self) {
  auto* c = static_cast<Client*>(self);
  if (timeout_ms < 0)
    c->timer_.reset();
  else
    c->timer_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  return 0;
}

void Client::run_once(int max_wait_ms) {
  auto* m = static_cast<CURLM*>(multi_);
  int wait = std::max(0, max_wait_ms);
  if (timer_) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(*timer_ - std::chrono::steady_clock::now());
    wait = std::min<int>(wait, static_cast<int>(std::max<int64_t>(0, left.count())));
  }
  // Level-triggered: a socket left over by maxevents is reported again on the next turn, so a
  // burst of answers is taken in slices with the dispatcher's step() in between.
  constexpr int kMaxEvents = 64;
  std::array<epoll_event, kMaxEvents> events{};
  const int n = ::epoll_wait(epoll_.get(), events.data(), kMaxEvents, wait);
  int running = 0;
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == wake_.get()) {
      uint64_t count = 0;
      (void)!::read(fd, &count, sizeof count);
      continue;
    }
    int flags = 0;
    if (events[i].events & (EPOLLIN | EPOLLHUP)) flags |= CURL_CSELECT_IN;
    if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events[i].events & EPOLLERR) flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(m, fd, flags, &running);
  }
  if (timer_ && *timer_ <= std::chrono::steady_clock::now()) {
    timer_.reset();  // curl sets the next one from inside the call
    curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
  }
  collect_done();
}

void Client::collect_done() {
  auto* m = static_cast<CURLM*>(multi_);
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

void Client::wakeup() {
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
}

}  // namespace rinha::processor
