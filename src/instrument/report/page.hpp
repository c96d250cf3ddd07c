// The report page: one self-contained HTML file (page.html, embedded at build time) with Chart.js
// and the runs' records inlined, so it opens offline in any browser. One record: the full run
// report; two or more: the runs overlaid (score columns side by side, series per run, config
// lines that differ from the first run highlighted).
// Threading: free functions; render_page() is pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace rinha::report {

// Where Debian's libjs-chart.js installs its UMD build (scripts/install-deps.sh installs it).
inline constexpr const char* kChartJsPath = "/usr/share/javascript/chart.js/chart.min.js";

// Makes text safe inside a <script> element: every "</" becomes "<\/" (same meaning inside JS
// strings, regular expressions and JSON; it closes no element).
std::string escape_for_script(std::string_view text);

// The page for `records` ("rinha_run" JSON object texts, at least one), with `chartjs` (the
// library's source) inlined.
std::string render_page(const std::string& title, const std::vector<std::string>& records,
                        const std::string& chartjs);

// Reads Chart.js from `chartjs_path` and writes the page to `out_path`. Fails naming the file it
// could not read or write (a missing library names the package to install).
Status write_report(const std::string& out_path, const std::string& title,
                    const std::vector<std::string>& records,
                    const std::string& chartjs_path = kChartJsPath);

}  // namespace rinha::report
