// Cluster fan-out of the api (docs/scale-out.md, 2): a summary or purge asked of every node's
// worker at once and answered once all have answered. The sum of the workers' parts keeps each
// part's guarantee because their payments are disjoint (one owner each); a part that fails (a
// worker unreachable or not answering within handoff.reply_timeout_ms) fails the whole answer,
// never a partial sum that would undercount.
//
// Threading: the parts' completions run on the hand-off clients' threads, concurrently; the
// final callback runs once, on the thread of the last part to answer.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "common/status.hpp"
#include "handoff/client.hpp"
#include "summary/summary.hpp"

namespace rinha::api {

// n completions, one per worker; done gets the sum, or the first failure naming its part.
std::vector<handoff::SummaryCompletion*> summary_fan_out(
    size_t n, std::function<void(Result<summary::SummaryTotals>)> done);
// n completions; done gets ok once all purged, else the first failure naming its part.
std::vector<handoff::Completion*> purge_fan_out(size_t n, std::function<void(Status)> done);

}  // namespace rinha::api
