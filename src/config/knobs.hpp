// The knob table: one row per configuration key. YAML loading, flags, validation, dumping and
// the sample-file test all walk this one list.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "config/config.hpp"

namespace rinha::config {

enum class KnobType { kInt, kString, kBool, kChoice };

struct Knob {
  std::string key;  // dotted path, as in YAML and as the flag name (--key)
  KnobType type;
  std::string help;                  // unit and meaning
  int64_t min = 0, max = 0;          // kInt bounds, inclusive
  std::vector<std::string> choices;  // kChoice
  bool secret = false;               // masked in dumps
  std::function<std::string(const Config&)> get;
  std::function<Status(Config&, const std::string&)> set;
};

const std::vector<Knob>& knobs();
const Knob* find_knob(const std::string& key);

}  // namespace rinha::config
