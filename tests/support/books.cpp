// settle_and_audit, check_audit, check_books: the shared end of the reliability tests' runs.
#include "support/books.hpp"

#include <catch2/catch.hpp>
#include <utility>

namespace rinha::testsupport {

Books settle_and_audit(PaymentTraffic& traffic, const Endpoints& e,
                       std::chrono::milliseconds timeout) {
  traffic.stop();
  Books b;
  b.sent = traffic.sent();
  auto settled = wait_settled(e, traffic.accepted(), timeout);
  INFO("settling: " << settled.status().message());
  REQUIRE(settled.is_ok());
  b.settled = *settled;
  auto audit = audit_payments(b.sent, e);
  INFO("audit: " << audit.status().message());
  REQUIRE(audit.is_ok());
  b.audit = std::move(audit).value();
  return b;
}

void check_audit(const Audit& audit, int64_t client_accepted) {
  INFO("audit: " << audit);
  CHECK(audit.accepted == client_accepted);
  CHECK(audit.lost == 0);
  CHECK(audit.double_charged == 0);
  CHECK(audit.wrong_amount == 0);
  CHECK(audit.recorded == audit.accepted);
}

void check_books(const Audit& audit, const Ledgers& settled, int64_t client_accepted) {
  check_audit(audit, client_accepted);
  INFO("audit: " << audit << "\nsettled: " << settled);
  CHECK(settled.consistent());
  CHECK(settled.processor_requests() == audit.recorded + audit.unanswered_recorded);
}

}  // namespace rinha::testsupport
