// CLI wiring of `rinhactl report a.json [b.json ...] -o page.html`: the report page from the
// "rinha_run" records that `rinhactl load --json` leaves in final-results.json; one file gives
// that run's report, several give the runs overlaid. Exits 0 when written, 1 on an unreadable
// input or output, 2 on bad options.
#pragma once

#include <CLI/CLI.hpp>

namespace rinha::report {

void add_report_command(CLI::App& app);

}  // namespace rinha::report
