// PaymentTraffic, summary comparison and the per-id audit used by the reliability tests.
#include "support/traffic.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "common/time.hpp"
#include "common/uuid.hpp"
#include "instrument/http/http_client.hpp"

namespace rinha::testsupport {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

int64_t cents_of(const nlohmann::json& v) { return std::llround(v.get<double>() * 100.0); }

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Result<Totals> processor_totals(const Result<http::HttpResponse>& r) {
  if (!r.is_ok()) return r.status();
  if (r->status != 200)
    return Status::unavailable("admin summary answered " + std::to_string(r->status));
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return Status::malformed("admin summary: " + r->body);
  return Totals{j["totalRequests"].get<int64_t>(), cents_of(j["totalAmount"])};
}

}  // namespace

std::ostream& operator<<(std::ostream& o, const Totals& t) {
  return o << t.requests << " payments / " << t.cents << " cents";
}

std::ostream& operator<<(std::ostream& o, const Ledgers& l) {
  return o << "ours default " << l.ours_default << ", fallback " << l.ours_fallback
           << "; processors default " << l.proc_default << ", fallback " << l.proc_fallback;
}

std::ostream& operator<<(std::ostream& o, const Audit& a) {
  o << "accepted " << a.accepted << ", recorded once " << a.recorded << ", lost " << a.lost
    << ", double-charged " << a.double_charged << ", wrong amount " << a.wrong_amount
    << ", recorded without a 2xx " << a.unanswered_recorded;
  for (const auto& e : a.examples) o << "\n  " << e;
  return o;
}

http::HttpRequest request(const std::string& method, const std::string& url,
                          const std::string& body, const std::string& token) {
  http::HttpRequest r;
  r.method = method;
  r.url = url;
  r.body = body;
  r.timeout = 5000ms;
  r.headers.push_back({"X-Rinha-Token", token});
  return r;
}

std::string cents_text(int64_t cents) {
  std::string frac = std::to_string(cents % 100);
  return std::to_string(cents / 100) + "." + (frac.size() < 2 ? "0" : "") + frac;
}

std::string random_uuid(uint64_t& state) {
  Uuid u;
  for (size_t i = 0; i < u.bytes.size(); i += 8) {
    uint64_t r = splitmix(state);
    for (size_t k = 0; k < 8; ++k) u.bytes[i + k] = static_cast<uint8_t>(r >> (8 * k));
  }
  u.bytes[6] = (u.bytes[6] & 0x0f) | 0x40;
  u.bytes[8] = (u.bytes[8] & 0x3f) | 0x80;
  return format_uuid(u);
}

PaymentTraffic::PaymentTraffic(std::string base_url, int per_second, int threads)
    : base_url_(std::move(base_url)), per_second_(per_second) {
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t, threads] { run(t, threads); });
}

PaymentTraffic::~PaymentTraffic() { stop(); }

void PaymentTraffic::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

std::vector<SentPayment> PaymentTraffic::sent() {
  std::scoped_lock l(mu_);
  return sent_;
}

void PaymentTraffic::run(int index, int threads) {
  uint64_t rng = std::random_device{}() ^ (static_cast<uint64_t>(index) << 32);
  http::HttpClient client;
  const auto period = std::chrono::microseconds(1'000'000LL * threads / per_second_);
  auto next = Steady::now();
  std::vector<SentPayment> mine;
  while (!stop_) {
    SentPayment p{random_uuid(rng), static_cast<int64_t>(splitmix(rng) % 10000) + 1, 0};
    http::HttpRequest r;
    r.method = "POST";
    r.url = base_url_ + "/payments";
    r.body = "{\"correlationId\":\"" + p.id + "\",\"amount\":" + cents_text(p.cents) + "}";
    r.timeout = 1500ms;
    auto resp = client.send(r);
    p.status = resp.is_ok() ? resp->status : 0;
    (p.status / 100 == 2 ? accepted_ : refused_).fetch_add(1);
    mine.push_back(std::move(p));
    next += period;
    if (next < Steady::now()) next = Steady::now();  // after a stall, no burst to catch up
    std::this_thread::sleep_until(next);
  }
  std::scoped_lock l(mu_);
  sent_.insert(sent_.end(), mine.begin(), mine.end());
}

Result<Ledgers> read_ledgers(const Endpoints& e,
                             std::optional<std::pair<int64_t, int64_t>> window) {
  std::string q;
  if (window)
    q = "?from=" + format_iso8601(UtcMillis{window->first}) +
        "&to=" + format_iso8601(UtcMillis{window->second});
  auto rs = http::http_parallel(
      {request("GET", e.api + "/payments-summary" + q, "", e.token),
       request("GET", e.default_url + "/admin/payments-summary" + q, "", e.token),
       request("GET", e.fallback_url + "/admin/payments-summary" + q, "", e.token)});
  if (!rs[0].is_ok()) return rs[0].status();
  if (rs[0]->status != 200)
    return Status::unavailable("our summary answered " + std::to_string(rs[0]->status) + ": " +
                               rs[0]->body);
  auto ours = nlohmann::json::parse(rs[0]->body, nullptr, false);
  if (ours.is_discarded()) return Status::malformed("our summary: " + rs[0]->body);
  auto d = processor_totals(rs[1]);
  if (!d.is_ok()) return d.status();
  auto f = processor_totals(rs[2]);
  if (!f.is_ok()) return f.status();
  return Ledgers{
      {ours["default"]["totalRequests"].get<int64_t>(), cents_of(ours["default"]["totalAmount"])},
      {ours["fallback"]["totalRequests"].get<int64_t>(), cents_of(ours["fallback"]["totalAmount"])},
      *d,
      *f};
}

std::optional<double> metric_sample(const std::string& metrics_url, const std::string& series) {
  auto r = http::http_send(request("GET", metrics_url));
  if (!r.is_ok() || r->status != 200) return std::nullopt;
  const std::string key = "\n" + series + " ";
  const auto at = r->body.find(key);
  if (at == std::string::npos) return std::nullopt;
  return std::stod(r->body.substr(at + key.size()));
}

bool eventually(std::chrono::milliseconds within, const std::function<bool()>& pred) {
  const auto until = Steady::now() + within;
  while (Steady::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

std::optional<HealthCalls> health_calls(const std::string& emulator_url) {
  auto r = http::http_send(request("GET", emulator_url + "/admin/health-calls"));
  if (!r.is_ok() || r->status != 200) return std::nullopt;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.contains("received") || !j.contains("rejected")) return std::nullopt;
  return HealthCalls{j["received"].get<int64_t>(), j["rejected"].get<int64_t>()};
}

Result<Ledgers> wait_settled(const Endpoints& e, int64_t min_requests,
                             std::chrono::milliseconds timeout) {
  const auto deadline = Steady::now() + timeout;
  Result<Ledgers> last = Status::timeout("never read");
  int stable = 0;
  while (true) {
    auto now = read_ledgers(e);
    const bool good = now.is_ok() && now->consistent() && now->processor_requests() >= min_requests;
    if (good && last.is_ok() && last->consistent() &&
        last->processor_requests() == now->processor_requests())
      ++stable;
    else
      stable = 0;
    last = now;
    if (stable >= 2 || Steady::now() >= deadline) return last;
    std::this_thread::sleep_for(300ms);
  }
}

Result<Audit> audit_payments(const std::vector<SentPayment>& sent, const Endpoints& e,
                             int threads) {
  struct Found {
    int count = 0;
    bool wrong_amount = false;
  };
  std::vector<Found> found(sent.size());
  std::atomic<size_t> next{0};
  std::mutex err_mu;
  Status err = Status::ok();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      http::HttpClient client;
      for (size_t i = next++; i < sent.size(); i = next++) {
        for (const auto* base : {&e.default_url, &e.fallback_url}) {
          auto r = client.send(request("GET", *base + "/payments/" + sent[i].id, "", e.token));
          if (!r.is_ok() || (r->status != 200 && r->status != 404)) {
            std::scoped_lock l(err_mu);
            err = r.is_ok() ? Status::unavailable("lookup answered " + std::to_string(r->status))
                            : r.status();
            return;
          }
          if (r->status != 200) continue;
          ++found[i].count;
          auto j = nlohmann::json::parse(r->body, nullptr, false);
          if (j.is_discarded() || cents_of(j["amount"]) != sent[i].cents)
            found[i].wrong_amount = true;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  if (!err.is_ok()) return err;

  Audit a;
  for (size_t i = 0; i < sent.size(); ++i) {
    const bool ok2xx = sent[i].status / 100 == 2;
    const Found& f = found[i];
    std::string bad;
    if (ok2xx) ++a.accepted;
    if (f.count > 1) {
      ++a.double_charged;
      bad = "on both processors";
    } else if (f.count == 0 && ok2xx) {
      ++a.lost;
      bad = "accepted, recorded nowhere";
    } else if (f.count == 1) {
      (ok2xx ? a.recorded : a.unanswered_recorded)++;
    }
    if (f.wrong_amount) {
      ++a.wrong_amount;
      bad += " wrong amount";
    }
    if (!bad.empty() && a.examples.size() < 5)
      a.examples.push_back(sent[i].id + " (status " + std::to_string(sent[i].status) + "): " + bad);
  }
  return a;
}

}  // namespace rinha::testsupport
