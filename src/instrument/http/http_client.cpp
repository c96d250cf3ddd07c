// libcurl client used by rinhactl (load, summary, purge, health) and the emulator tests.
// Every request sends "Connection: keep-alive" and an empty "Expect:" because Pistache closes
// connections without the former and never answers 100-continue (notes/debian-deps.md §2).
#include "instrument/http/http_client.hpp"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

namespace rinha::http {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<HttpResponse*>(user)->body.append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  std::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    static_cast<HttpResponse*>(user)->headers.emplace_back(std::move(name), std::string(value));
  }
  return size * n;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// Configures `h` for `req`, writing into `resp`; returns the header list to keep alive.
Slist prepare(CURL* h, const HttpRequest& req, HttpResponse* resp) {
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
  curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  if (req.method == "POST" || req.method == "PUT" || !req.body.empty()) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  }
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method == "GET" ? nullptr : req.method.c_str());
  curl_slist* list = nullptr;
  list = curl_slist_append(list, "Connection: keep-alive");
  list = curl_slist_append(list, "Expect:");
  bool has_type = false;
  for (const auto& [k, v] : req.headers) has_type |= strcasecmp(k.c_str(), "Content-Type") == 0;
  if (!has_type) list = curl_slist_append(list, "Content-Type: application/json");
  for (const auto& [k, v] : req.headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  return Slist(list);
}

Result<HttpResponse> finish(CURL* h, CURLcode rc, HttpResponse resp) {
  if (rc == CURLE_OPERATION_TIMEDOUT) return Status::timeout(curl_easy_strerror(rc));
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
    return Status::unavailable(curl_easy_strerror(rc));
  if (rc != CURLE_OK) return Status::io_error(curl_easy_strerror(rc));
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  curl_off_t total = 0, connect = 0;
  curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total);
  curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect);
  resp.duration = std::chrono::microseconds(total - connect);
  return resp;
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

HttpClient::HttpClient() {
  global_init_once();
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Result<HttpResponse> HttpClient::send(const HttpRequest& req) {
  CURL* h = static_cast<CURL*>(curl_);
  HttpResponse resp;
  Slist headers = prepare(h, req, &resp);
  CURLcode rc = curl_easy_perform(h);
  return finish(h, rc, std::move(resp));
}

Result<HttpResponse> http_send(const HttpRequest& req) {
  HttpClient c;
  return c.send(req);
}

std::vector<Result<HttpResponse>> http_parallel(const std::vector<HttpRequest>& reqs) {
  global_init_once();
  CURLM* multi = curl_multi_init();
  std::vector<CURL*> handles;
  std::vector<HttpResponse> resps(reqs.size());
  std::vector<Slist> lists;
  std::vector<CURLcode> codes(reqs.size(), CURLE_OK);
  for (size_t i = 0; i < reqs.size(); ++i) {
    CURL* h = curl_easy_init();
    lists.push_back(prepare(h, reqs[i], &resps[i]));
    curl_easy_setopt(h, CURLOPT_PRIVATE, reinterpret_cast<void*>(i));
    curl_multi_add_handle(multi, h);
    handles.push_back(h);
  }
  int running = 1;
  while (running > 0) {
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      void* priv = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
      codes[reinterpret_cast<size_t>(priv)] = m->data.result;
    }
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  std::vector<Result<HttpResponse>> out;
  out.reserve(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    out.push_back(finish(handles[i], codes[i], std::move(resps[i])));
    curl_multi_remove_handle(multi, handles[i]);
    curl_easy_cleanup(handles[i]);
  }
  curl_multi_cleanup(multi);
  return out;
}

std::string url_escape(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace rinha::http
