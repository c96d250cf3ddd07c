// rinhactl report (see command.hpp). Reads only its arguments' files and Chart.js.
#include "instrument/report/command.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "instrument/report/machine.hpp"
#include "instrument/report/page.hpp"
#include "instrument/report/run_record.hpp"

namespace rinha::report {
namespace {

struct ReportOptions {
  std::vector<std::string> inputs;
  std::vector<std::string> labels;  // per input; default: the file name without .json
  std::string out;
  std::string title;
  std::string chartjs = kChartJsPath;
};

// The input's record with its label set; fails naming the file.
Result<std::string> record_of(const std::string& path, const std::string& label) {
  std::string text = read_text_file(path);
  if (text.empty()) return Status::not_found(path + ": cannot read it (or it is empty)");
  auto j = nlohmann::ordered_json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::invalid_argument(path + ": not JSON");
  if (!j.is_object() || !j.contains(kRecordKey) || !j[kRecordKey].is_object())
    return Status::invalid_argument(path + ": no \"" + kRecordKey +
                                    "\" record (write it with rinhactl load --json)");
  auto& rec = j[kRecordKey];
  if (rec.value("schema", "") != kSchema)
    return Status::invalid_argument(path + ": record schema is not " + std::string(kSchema));
  rec["label"] = label;
  return rec.dump();
}

int run_report(const ReportOptions& o) {
  if (!o.labels.empty() && o.labels.size() != o.inputs.size()) {
    std::fprintf(stderr, "report: give one --label per input or none\n");
    return 2;
  }
  std::vector<std::string> records;
  for (size_t i = 0; i < o.inputs.size(); ++i) {
    std::string label =
        o.labels.empty() ? std::filesystem::path(o.inputs[i]).stem().string() : o.labels[i];
    auto r = record_of(o.inputs[i], label);
    if (!r.is_ok()) {
      std::fprintf(stderr, "report: %s\n", r.status().message().c_str());
      return 1;
    }
    records.push_back(std::move(r).value());
  }
  std::string title = o.title;
  if (title.empty()) title = records.size() == 1 ? "rinha run report" : "rinha runs compared";
  Status s = write_report(o.out, title, records, o.chartjs);
  if (!s.is_ok()) {
    std::fprintf(stderr, "report: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("report: %s\n", o.out.c_str());
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "HTML report of one run, or several runs overlaid, from rinhactl load --json files");
  cmd->add_option("inputs", o->inputs, "final-results.json files written by rinhactl load --json")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", o->out, "the HTML file to write")->required();
  cmd->add_option("--label", o->labels, "name of each run, in input order (default: file names)");
  cmd->add_option("--title", o->title, "page title");
  cmd->add_option("--chartjs", o->chartjs, "Chart.js UMD build to inline")->capture_default_str();
  cmd->callback([o] {
    if (const int rc = run_report(*o); rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace rinha::report
