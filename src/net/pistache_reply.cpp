// The one Pistache send path (see pistache_reply.hpp for why the Connection header goes).
#include "net/pistache_reply.hpp"

namespace rinha::net {

using namespace Pistache;

bool wants_keep_alive(const Http::Request& req) {
  // HTTP/1.0 closes by default; Pistache's own Connection header is right for it either way.
  if (req.version() != Http::Version::Http11) return false;
  auto c = req.headers().tryGet<Http::Header::Connection>();
  return !c || c->control() != Http::ConnectionControl::Close;
}

void reply(Http::ResponseWriter& w, Http::Code code, const std::string& body, BodyType type,
           bool keep_alive) {
  if (keep_alive) w.headers().remove<Http::Header::Connection>();
  if (body.empty()) {
    w.send(code);
  } else if (type == BodyType::kJson) {
    w.send(code, body, MIME(Application, Json));
  } else {
    w.send(code, body, MIME(Text, Plain));
  }
}

}  // namespace rinha::net
