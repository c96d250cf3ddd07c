// libFuzzer target: hand-off frame decoder. Any byte stream: no crash, bounded memory; every
// frame it yields re-encodes to bytes that decode to the same frame.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "handoff/handoff_format.hpp"

using namespace rinha::handoff;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FrameDecoder d;
  // Feed in two uneven pieces to exercise partial frames.
  size_t half = size / 3;
  d.feed(std::string_view(reinterpret_cast<const char*>(data), half));
  for (int pass = 0; pass < 2; ++pass) {
    for (;;) {
      auto next = d.next();
      if (!next.is_ok() || !next->has_value()) break;
      const Frame& f = **next;
      std::string wire;
      encode(f, wire);
      FrameDecoder again;
      again.feed(wire);
      auto g = again.next();
      if (!g.is_ok() || !g->has_value()) std::abort();
      const Frame& h = **g;
      if (h.type != f.type || h.seq != f.seq || h.payments != f.payments || h.status != f.status ||
          !(h.totals == f.totals) || h.from_ms != f.from_ms || h.to_ms != f.to_ms)
        std::abort();
    }
    if (pass == 0)
      d.feed(std::string_view(reinterpret_cast<const char*>(data) + half, size - half));
  }
  return 0;
}
