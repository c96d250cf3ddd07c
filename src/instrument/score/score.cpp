// The contest score (spec §4.1) and its two renderings. Reads no config: every figure comes in
// through ScoreInput. Strings of the JSON are the official script's, verbatim.
#include "instrument/score/score.hpp"

#include <charconv>
#include <cstdlib>
#include <sstream>

namespace rinha::score {
namespace {

// JavaScript's String(number) for finite doubles: the shortest text that reads back the same.
Decimal from_double_shortest(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  auto d = Decimal::parse(std::string_view(buf, static_cast<size_t>(res.ptr - buf)));
  return d.is_ok() ? d.value() : Decimal();
}

double to_double(const Decimal& d) { return std::strtod(d.to_string().c_str(), nullptr); }

int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

int64_t official_inconsistencies(const CheckCounts& c) {
  return abs64((c.backend_default - c.processor_default) +
               (c.backend_fallback - c.processor_fallback));
}

int64_t corrected_inconsistencies(const CheckCounts& c) {
  return abs64(c.backend_default - c.processor_default) +
         abs64(c.backend_fallback - c.processor_fallback);
}

Decimal round_p99(double p99_ms) { return from_double_shortest(p99_ms).round_half_up(2); }

Decimal p99_bonus(const Decimal& p99_rounded) {
  double raw = (11 - to_double(p99_rounded)) * 0.02;
  Decimal b = from_double_shortest(raw).round_half_up(2);
  return b < Decimal() ? Decimal() : b;
}

ScoreResult compute_score(const ScoreInput& in) {
  ScoreResult r;
  r.gross = in.default_totals.amount + in.fallback_totals.amount;
  r.default_fee = in.default_totals.fee_rate * in.default_totals.amount;
  r.fallback_fee = in.fallback_totals.fee_rate * in.fallback_totals.amount;
  r.fees = r.default_fee + r.fallback_fee;
  r.liquid_partial = r.gross - r.fees;
  r.p99 = round_p99(in.p99_ms);
  r.bonus = p99_bonus(r.p99);
  r.fine = in.inconsistencies > 0 ? Decimal::of(35, 2) : Decimal();
  r.fine_total = r.liquid_partial * r.fine;
  r.score = r.liquid_partial + r.liquid_partial * r.bonus - r.fine_total;
  r.counted = in.default_totals.requests + in.fallback_totals.requests;
  r.lag = in.post_successes - r.counted;
  return r;
}

std::string final_results_json(const ScoreInput& in, const ScoreResult& r) {
  std::ostringstream o;
  auto processor = [&](const char* key, const PaymentTotals& t, const Decimal& fee,
                       const char* name) {
    o << "  \"" << key << "\": {\n"
      << "    \"total_bruto\": " << t.amount.to_string() << ",\n"
      << "    \"num_pagamentos\": " << t.requests << ",\n"
      << "    \"total_taxas\": " << fee.to_string() << ",\n"
      << "    \"descricao\": \"Informações do backend sobre solicitações de pagamento para o "
         "Payment Processor "
      << name << ".\"\n  }";
  };
  o << "{\n";
  if (!in.timestamp.empty()) o << "  \"timestamp\": " << quoted(in.timestamp) << ",\n";
  o << "  \"participante\": " << quoted(in.participant) << ",\n"
    << "  \"total_liquido\": " << r.score.to_string() << ",\n"
    << "  \"total_bruto\": " << r.gross.to_string() << ",\n"
    << "  \"total_taxas\": " << r.fees.to_string() << ",\n"
    << "  \"descricao\": \"'total_liquido' é sua pontuação final. Equivale ao seu lucro. Fórmula: "
       "total_liquido + (total_liquido * p99.bonus) - (total_liquido * multa.porcentagem)\",\n"
    << "  \"p99\": {\n"
    << "    \"valor\": \"" << r.p99.to_string() << "ms\",\n"
    << "    \"bonus\": \"" << (r.bonus * Decimal::from_int(100)).to_string() << "%\",\n"
    << "    \"max_requests\": " << quoted(in.max_requests) << ",\n"
    << "    \"descricao\": \"Fórmula para o bônus: max((11 - p99.valor) * 0.02, 0)\"\n  },\n"
    << "  \"multa\": {\n"
    << "    \"porcentagem\": " << r.fine.to_string() << ",\n"
    << "    \"total\": " << r.fine_total.to_string() << ",\n"
    << "    \"composicao\": {\n"
    << "      \"num_inconsistencias\": " << in.inconsistencies << ",\n"
    << "      \"descricao\": \"Se 'num_inconsistencias' > 0, há multa de 35%.\"\n    }\n  },\n"
    << "  \"caixa_dois\": {\n"
    << "    \"detectado\": " << (r.lag < 0 ? "true" : "false") << ",\n"
    << "    \"descricao\": \"Se 'lag' for negativo, significa que seu backend registrou mais "
       "pagamentos do que solicitado, automaticamente desclassificando sua submissão!\"\n  },\n"
    << "  \"lag\": {\n"
    << "    \"num_pagamentos_total\": " << r.counted << ",\n"
    << "    \"num_pagamentos_solicitados\": " << in.post_successes << ",\n"
    << "    \"lag\": " << r.lag << ",\n"
    << "    \"descricao\": \"Lag é a diferença entre a quantidade de solicitações de pagamentos e "
       "o que foi realmente computado pelo backend. Mostra a perda de pagamentos possivelmente "
       "por estarem enfileirados.\"\n  },\n"
    << "  \"pagamentos_solicitados\": {\n"
    << "    \"qtd_sucesso\": " << in.post_successes << ",\n"
    << "    \"qtd_falha\": " << in.post_failures << ",\n"
    << "    \"descricao\": \"'qtd_sucesso' foram requests bem sucedidos para 'POST /payments' e "
       "'qtd_falha' os requests com erro.\"\n  },\n";
  processor("pagamentos_realizados_default", in.default_totals, r.default_fee, "Default");
  o << ",\n";
  processor("pagamentos_realizados_fallback", in.fallback_totals, r.fallback_fee, "Fallback");
  o << "\n}\n";
  return o.str();
}

std::string score_table(const std::string& title, const ScoreInput& in, const ScoreResult& r) {
  std::ostringstream o;
  auto row = [&](const std::string& k, const std::string& v) {
    o << "  " << k << std::string(k.size() < 24 ? 24 - k.size() : 1, ' ') << v << "\n";
  };
  o << title << "\n";
  row("default", std::to_string(in.default_totals.requests) + " payments, " +
                     in.default_totals.amount.to_string() + " gross, fee " +
                     r.default_fee.to_string() + " (rate " +
                     in.default_totals.fee_rate.to_string() + ")");
  row("fallback", std::to_string(in.fallback_totals.requests) + " payments, " +
                      in.fallback_totals.amount.to_string() + " gross, fee " +
                      r.fallback_fee.to_string() + " (rate " +
                      in.fallback_totals.fee_rate.to_string() + ")");
  row("POST ok / failed",
      std::to_string(in.post_successes) + " / " + std::to_string(in.post_failures));
  row("lag", std::to_string(r.lag) + (r.lag < 0 ? "  (caixa dois!)" : ""));
  row("gross", r.gross.to_string());
  row("fees", r.fees.to_string());
  row("L (gross - fees)", r.liquid_partial.to_string());
  row("p99",
      r.p99.to_string() + " ms -> bonus " + (r.bonus * Decimal::from_int(100)).to_string() + "%");
  row("inconsistencies",
      std::to_string(in.inconsistencies) +
          (r.fine.is_zero() ? "" : "  -> fine 35% = " + r.fine_total.to_string()));
  row("score (total_liquido)", r.score.to_string());
  return o.str();
}

}  // namespace rinha::score
