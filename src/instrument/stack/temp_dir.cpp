// TempDir: mkdtemp + recursive removal. Honours RINHA_KEEP_TMP=1 (keep for post-mortems).
#include "instrument/stack/temp_dir.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

namespace rinha::stack {

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) {
    std::perror("TempDir: mkdtemp");
    std::abort();
  }
  path_ = buf.data();
  chmod(path_.c_str(), 0755);
  const char* keep = std::getenv("RINHA_KEEP_TMP");
  keep_ = keep && std::string(keep) == "1";
}

TempDir::~TempDir() {
  if (keep_ || path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace rinha::stack
