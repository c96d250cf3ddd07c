// The books after a settled run: the assertions every reliability test makes once its traffic
// stopped and our summary met the processors' (wait_settled), over the per-id audit of what it
// sent (audit_payments). Catch2 CHECKs, not REQUIREs: a failure names the field, the test's
// INFO messages come along, and the other checks still run.
//
// Threading: call from the test case's thread (Catch2's assertion macros are not thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "support/traffic.hpp"

namespace rinha::testsupport {

// A finished run: every payment sent, the totals once settled, the per-id audit.
struct Books {
  std::vector<SentPayment> sent;
  Ledgers settled;
  Audit audit;
};

// Stops the traffic, waits (up to timeout) until the totals settle on at least its 2xx count
// and audits every payment it sent. REQUIREs each step: without them there is nothing to check.
Books settle_and_audit(PaymentTraffic& traffic, const Endpoints& e,
                       std::chrono::milliseconds timeout);

// Per id: the audit saw the client's 2xx count (client_accepted), and each of those payments is
// recorded by exactly one processor with its amount; none lost, none charged twice.
void check_audit(const Audit& audit, int64_t client_accepted);

// check_audit, and the totals: our summary equals the processors' (per processor, counts and
// cents), and the processors hold nothing but audited payments, each once (with or without a
// 2xx: a payment whose answer was lost may still have been taken).
void check_books(const Audit& audit, const Ledgers& settled, int64_t client_accepted);

}  // namespace rinha::testsupport
