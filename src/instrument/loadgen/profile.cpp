// The official test shapes as data (spec §5.4 final, §5.5 preview) and k6's ramp and percentile.
#include "instrument/loadgen/profile.hpp"

#include <cmath>

namespace rinha::loadgen {

std::optional<Profile> make_profile(const std::string& name) {
  Profile p;
  p.name = name;
  if (name == "preview") {
    p.vus = 500;
    p.duration_ms = 60000;
    p.amount = "19.90";
    p.check_to_ms = 1500;
    p.money_from_backend = true;
    p.stages = {{1000, 0, false, 0, false},    {10000, 100, false, 0, false},
                {20000, 100, true, 0, false},  {30000, 2000, true, 1000, true},
                {40000, 20, false, 20, false}, {50000, 0, false, 5000, false}};
    return p;
  }
  if (name == "final") {
    p.vus = 603;
    p.duration_ms = 300000;
    p.amount = "20.05";
    p.check_to_ms = 2000;
    p.stages = {{1000, 0, false, 0, false},      {30000, 1000, false, 0, false},
                {60000, 500, false, 0, false},   {90000, 2000, true, 1000, false},
                {120000, 5000, true, 5, false},  {150000, 0, false, 5, true},
                {180000, 100, false, 5, false},  {210000, 50, false, 0, false},
                {240000, 103, false, 10, false}, {270000, 2000, false, 0, false}};
    return p;
  }
  if (name == "soak") {
    p.vus = 600;
    p.ramp = false;
    p.duration_ms = 3600000;
    p.amount = "20.05";
    p.check_to_ms = 2000;
    p.stages = {{1000, 5, false, 5, false}};
    return p;
  }
  return std::nullopt;
}

Profile with_duration(Profile p, int64_t duration_ms) {
  for (Stage& s : p.stages) s.at_ms = s.at_ms * duration_ms / p.duration_ms;
  p.duration_ms = duration_ms;
  return p;
}

int64_t vu_start_ms(int i, int vus, int64_t duration_ms) {
  if (i <= 0 || vus <= 1) return 0;
  return duration_ms * i / (vus - 1);
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  double idx = p * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(idx));
  size_t hi = static_cast<size_t>(std::ceil(idx));
  double frac = idx - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

}  // namespace rinha::loadgen
