// check_audit / check_books: the shared end-of-run assertions of the reliability tests.
#include "support/books.hpp"

#include <catch2/catch.hpp>

namespace rinha::testsupport {

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
