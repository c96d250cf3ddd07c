// Page assembly (see page.hpp): three markers of the embedded template are replaced; nothing
// else of the template is interpreted here.
#include "instrument/report/page.hpp"

#include <fstream>

#include "instrument/report/machine.hpp"

namespace rinha::report {

extern const char* const kPageTemplate;  // page.html, generated into page_template.cpp

namespace {

void replace_once(std::string& s, std::string_view marker, const std::string& with) {
  size_t at = s.find(marker);
  if (at != std::string::npos) s.replace(at, marker.size(), with);
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string escape_for_script(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    out.push_back(text[i]);
    if (text[i] == '<' && i + 1 < text.size() && text[i + 1] == '/') out.push_back('\\');
  }
  return out;
}

std::string render_page(const std::string& title, const std::vector<std::string>& records,
                        const std::string& chartjs) {
  std::string runs = "[";
  for (size_t i = 0; i < records.size(); ++i) runs += (i ? ",\n" : "") + records[i];
  runs += "]";
  std::string page = kPageTemplate;
  // The library goes in last so that no marker text inside it could be replaced.
  replace_once(page, "@@RINHA_TITLE@@", html_escape(title));
  replace_once(page, "@@RINHA_RUNS@@", escape_for_script(runs));
  replace_once(page, "@@RINHA_CHARTJS@@", escape_for_script(chartjs));
  return page;
}

Status write_report(const std::string& out_path, const std::string& title,
                    const std::vector<std::string>& records, const std::string& chartjs_path) {
  if (records.empty()) return Status::invalid_argument("no run record to report");
  std::string chartjs = read_text_file(chartjs_path);
  if (chartjs.empty())
    return Status::not_found(
        "cannot read " + chartjs_path +
        " (Debian package libjs-chart.js; scripts/install-deps.sh installs it)");
  std::ofstream out(out_path, std::ios::trunc);
  out << render_page(title, records, chartjs);
  out.close();
  if (!out) return Status::io_error("cannot write " + out_path);
  return Status::ok();
}

}  // namespace rinha::report
