// Score: the worked examples of spec §4.5 to the last decimal, the bonus rounding, the two
// inconsistency rules and the official JSON keys.
#include "instrument/score/score.hpp"

#include <catch2/catch.hpp>

#include "instrument/score/decimal.hpp"

using rinha::score::CheckCounts;
using rinha::score::Decimal;
using rinha::score::ScoreInput;

namespace {
Decimal dec(const char* s) { return Decimal::parse(s).value(); }
}  // namespace

TEST_CASE("decimal parses, multiplies and prints exactly") {
  CHECK((dec("415696.65") * dec("0.07")).to_string() == "29098.7655");
  CHECK((dec("321501.75") * dec("0.10")).to_string() == "32150.175");
  CHECK(dec("19.90").to_string() == "19.9");
  CHECK(dec("0").to_string() == "0");
  CHECK(dec("1990e-2").to_string() == "19.9");
  CHECK(dec("2e3").to_string() == "2000");
  CHECK((dec("1") - dec("1.25")).to_string() == "-0.25");
  CHECK(dec("0.125").round_half_up(2).to_string() == "0.13");
  CHECK(dec("0.1249").round_half_up(2).to_string() == "0.12");
  CHECK(dec("-0.125").round_half_up(2).to_string() == "-0.13");
  CHECK_FALSE(Decimal::parse("1.").is_ok());
  CHECK_FALSE(Decimal::parse("abc").is_ok());
  CHECK_FALSE(Decimal::parse("").is_ok());
  CHECK(dec("20.05").to_cents().value == 2005);
  // The amounts' JSON number grammar (common/money.hpp): no leading zeros, no '+', no blanks.
  CHECK_FALSE(Decimal::parse("01").is_ok());
  CHECK_FALSE(Decimal::parse("+1").is_ok());
  CHECK_FALSE(Decimal::parse(" 1").is_ok());
  CHECK(dec("0.0700").to_string() == "0.07");
  CHECK(dec("-1.5E+1").to_string() == "-15");
  // Bounds: 36 digits, 30 decimals; past them an error, never an overflow.
  CHECK(dec("123456789012345678901234567890123456").to_string().size() == 36);
  CHECK_FALSE(Decimal::parse("1234567890123456789012345678901234567890").is_ok());
  CHECK_FALSE(Decimal::parse("1e40").is_ok());
  CHECK_FALSE(Decimal::parse("1e-31").is_ok());
}

TEST_CASE("ogabriel-elixir, official #1: 790860.867615") {
  ScoreInput in;
  in.default_totals = {20733, dec("415696.65"), dec("0.07")};
  in.fallback_totals = {16035, dec("321501.75"), dec("0.10")};
  in.p99_ms = 2.5412;
  in.post_successes = 90580;
  auto r = rinha::score::compute_score(in);
  CHECK(r.gross.to_string() == "737198.4");
  CHECK(r.fees.to_string() == "61248.9405");
  CHECK(r.liquid_partial.to_string() == "675949.4595");
  CHECK(r.p99.to_string() == "2.54");
  CHECK(r.bonus.to_string() == "0.17");
  CHECK(r.fine.is_zero());
  CHECK(r.score.to_string() == "790860.867615");
  CHECK(r.lag == 90580 - 36768);
}

TEST_CASE("joyce-go-2, fined: 651670.2729") {
  // Only L is published (fine 278151.94575 = L x 0.35); any split of L reproduces it.
  ScoreInput in;
  in.default_totals = {1, dec("794719.845"), dec("0")};
  in.fallback_totals = {0, dec("0"), dec("0.10")};
  in.p99_ms = 2.45;
  in.inconsistencies = 3;
  auto r = rinha::score::compute_score(in);
  CHECK(r.bonus.to_string() == "0.17");
  CHECK(r.fine.to_string() == "0.35");
  CHECK(r.fine_total.to_string() == "278151.94575");
  CHECK(r.score.to_string() == "651670.2729");
}

TEST_CASE("p99 bonus follows the script: round p99 to 2 decimals, then 2 % per ms below 11") {
  using rinha::score::p99_bonus;
  using rinha::score::round_p99;
  CHECK(round_p99(2.545).to_string() == "2.55");  // half-up on the shortest text
  CHECK(round_p99(3.1049).to_string() == "3.1");
  CHECK(p99_bonus(dec("10")).to_string() == "0.02");
  CHECK(p99_bonus(dec("9")).to_string() == "0.04");
  CHECK(p99_bonus(dec("5")).to_string() == "0.12");
  CHECK(p99_bonus(dec("1")).to_string() == "0.2");
  CHECK(p99_bonus(dec("0.92")).to_string() == "0.2");  // 0.2016: no cap at 20 %
  CHECK(p99_bonus(dec("0.2")).to_string() == "0.22");
  CHECK(p99_bonus(dec("3.46")).to_string() == "0.15");  // 0.1508
  CHECK(p99_bonus(dec("11")).is_zero());
  CHECK(p99_bonus(dec("40")).is_zero());  // no penalty above 11 ms
}

TEST_CASE("official inconsistencies cancel across processors, corrected ones do not") {
  CheckCounts c{10, 5, 8, 7};  // backend +2 on default, -2 on fallback
  CHECK(rinha::score::official_inconsistencies(c) == 0);
  CHECK(rinha::score::corrected_inconsistencies(c) == 4);
  CheckCounts d{10, 5, 9, 5};
  CHECK(rinha::score::official_inconsistencies(d) == 1);
  CHECK(rinha::score::corrected_inconsistencies(d) == 1);
}

TEST_CASE("final-results.json has the official keys and figures") {
  ScoreInput in;
  in.default_totals = {20733, dec("415696.65"), dec("0.07")};
  in.fallback_totals = {16035, dec("321501.75"), dec("0.10")};
  in.p99_ms = 2.54;
  in.post_successes = 90580;
  in.participant = "x";
  in.timestamp = "2025-08-19T21:55:14.000Z";
  auto r = rinha::score::compute_score(in);
  std::string j = rinha::score::final_results_json(in, r);
  for (const char* key :
       {"\"timestamp\"", "\"participante\": \"x\"", "\"total_liquido\": 790860.867615",
        "\"total_bruto\": 737198.4", "\"total_taxas\": 61248.9405", "\"valor\": \"2.54ms\"",
        "\"bonus\": \"17%\"", "\"max_requests\": \"603\"", "\"porcentagem\": 0",
        "\"num_inconsistencias\": 0", "\"detectado\": false", "\"num_pagamentos_total\": 36768",
        "\"lag\": 53812", "\"qtd_sucesso\": 90580", "\"qtd_falha\": 0",
        "\"pagamentos_realizados_default\"", "\"total_taxas\": 29098.7655",
        "\"pagamentos_realizados_fallback\"", "\"total_taxas\": 32150.175"}) {
    INFO(key);
    CHECK(j.find(key) != std::string::npos);
  }
}
