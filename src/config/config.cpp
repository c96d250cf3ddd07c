// YAML overlay, cross-key validation and the YAML dump, all driven by the knob table.
#include "config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "config/knobs.hpp"
#include "net/address.hpp"

namespace rinha::config {
namespace {

Status apply_node(Config& cfg, const YAML::Node& node, const std::string& prefix) {
  if (!node.IsMap())
    return Status::invalid_argument((prefix.empty() ? "<root>" : prefix) + ": expected a mapping");
  for (const auto& kv : node) {
    std::string key =
        prefix.empty() ? kv.first.as<std::string>() : prefix + "." + kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (v.IsMap()) {
      if (find_knob(key))
        return Status::invalid_argument(key + ": expected a value, got a mapping");
      Status s = apply_node(cfg, v, key);
      if (!s.is_ok()) return s;
    } else if (v.IsScalar()) {
      if (!find_knob(key)) return Status::invalid_argument(key + ": unknown configuration key");
      Status s = set_value(cfg, key, v.Scalar());
      if (!s.is_ok()) return s;
    } else if (v.IsNull()) {
      return Status::invalid_argument(key + ": missing value");
    } else {
      return Status::invalid_argument(key + ": lists are not accepted");
    }
  }
  return Status::ok();
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

Status check_address(const std::string& key, const std::string& v) {
  auto e = net::parse_endpoint(v);
  if (!e.is_ok()) return Status::invalid_argument(key + ": " + e.status().message());
  return Status::ok();
}

Status check_url(const std::string& key, const std::string& v) {
  if (!starts_with(v, "http://") || v.size() <= 7)
    return Status::invalid_argument(key + ": expected an http:// URL, got '" + v + "'");
  return Status::ok();
}

std::string yaml_scalar(const Knob& k, const std::string& v) {
  if (k.type == KnobType::kInt || k.type == KnobType::kBool) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

Status set_value(Config& cfg, const std::string& key, const std::string& value) {
  const Knob* k = find_knob(key);
  if (!k) return Status::invalid_argument(key + ": unknown configuration key");
  return k->set(cfg, value);
}

Status apply_yaml_text(Config& cfg, const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(std::string("YAML syntax: ") + e.what());
  }
  if (root.IsNull()) return Status::ok();
  return apply_node(cfg, root, "");
}

Status apply_yaml_file(Config& cfg, const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::io_error("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  Status s = apply_yaml_text(cfg, ss.str());
  if (!s.is_ok()) return Status::invalid_argument(path + ": " + s.message());
  return s;
}

Result<std::vector<std::string>> peer_list(const std::string& peers) {
  std::vector<std::string> out;
  if (peers.empty()) return out;
  std::stringstream in(peers);
  for (std::string a; std::getline(in, a, ',');) {
    Status s = check_address("cluster.peers", a);
    if (!s.is_ok()) return s;
    out.push_back(a);
  }
  if (peers.back() == ',')
    return Status::invalid_argument("cluster.peers: empty address at the end");
  return out;
}

Status validate(const Config& cfg) {
  if (auto peers = peer_list(cfg.cluster.peers); !peers.is_ok()) return peers.status();
  for (auto [key, v] :
       {std::pair{"api.listen", &cfg.api.listen}, std::pair{"worker.listen", &cfg.worker.listen}}) {
    Status s = check_address(key, *v);
    if (!s.is_ok()) return s;
  }
  for (auto [key, v] : {std::pair{"processors.default.url", &cfg.default_processor.url},
                        std::pair{"processors.fallback.url", &cfg.fallback_processor.url}}) {
    Status s = check_url(key, *v);
    if (!s.is_ok()) return s;
  }
  if (cfg.retry.backoff_base_ms > cfg.retry.backoff_cap_ms)
    return Status::invalid_argument("retry.backoff_base_ms: must not exceed retry.backoff_cap_ms");
  // The api answers 503 once reply_timeout_ms passes: a summary must be answered before.
  if (cfg.worker.summary_wait_ms >= cfg.handoff.reply_timeout_ms)
    return Status::invalid_argument(
        "worker.summary_wait_ms: must be below handoff.reply_timeout_ms");
  // A leader's death must be noticed before its next poll would have been due.
  if (cfg.health.shared_retry_ms >= cfg.health.interval_ms)
    return Status::invalid_argument("health.shared_retry_ms: must be below health.interval_ms");
  // A window within the horizon then never cuts a bucket holding folded payments, so recent
  // summaries stay in memory.
  if (cfg.ledger.horizon_ms < 2 * static_cast<int64_t>(cfg.ledger.bucket_ms))
    return Status::invalid_argument("ledger.horizon_ms: must be at least twice ledger.bucket_ms");
  if (!starts_with(cfg.database.url, "postgresql://") &&
      !starts_with(cfg.database.url, "postgres://"))
    return Status::invalid_argument("database.url: expected a postgresql:// URI");
  return Status::ok();
}

std::string redact_url(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto at = url.find('@', scheme + 3);
  if (at == std::string::npos) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::string dump_yaml(const Config& cfg, bool annotate) {
  std::ostringstream out;
  if (annotate)
    out << "# rinhad configuration. Every key is also a flag (--api.threads=2); flags win over "
           "this file.\n"
           "# Each comment gives the unit, bounds and default. Regenerate: rinhad "
           "--print-config-sample\n";
  const Config defaults;
  std::vector<std::string> open;  // path segments of the mapping currently open
  for (const auto& k : knobs()) {
    std::vector<std::string> parts;
    std::stringstream ks(k.key);
    for (std::string p; std::getline(ks, p, '.');) parts.push_back(p);
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common])
      ++common;
    open.resize(common);
    for (size_t i = common; i + 1 < parts.size(); ++i) {
      out << std::string(2 * i, ' ') << parts[i] << ":\n";
      open.push_back(parts[i]);
    }
    std::string indent(2 * (parts.size() - 1), ' ');
    if (annotate) {
      std::string bounds = k.type == KnobType::kInt
                               ? " [" + std::to_string(k.min) + ".." + std::to_string(k.max) + "]"
                               : "";
      std::string def = redact_url(k.get(defaults));
      out << indent << "# " << k.help << bounds << "; default "
          << (def.empty() ? "\"\" (off)" : def) << "\n";
    }
    std::string v = k.get(cfg);
    // A secret URL keeps everything but its password; any other secret shows only whether set.
    if (k.secret) v = v.find("://") != std::string::npos ? redact_url(v) : (v.empty() ? v : "***");
    out << indent << parts.back() << ": " << yaml_scalar(k, v) << "\n";
  }
  return out.str();
}

}  // namespace rinha::config
