// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
// Threading: one owner. Creation failure aborts (tests and tools cannot go on without it).
#pragma once

#include <string>

namespace rinha::stack {

class TempDir {
 public:
  // prefix becomes part of the name: /tmp/<prefix>XXXXXX. The directory is mode 0755 so that an
  // unprivileged child (PostgreSQL runs as `postgres`) can reach subdirectories made for it.
  explicit TempDir(const std::string& prefix = "rinha-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Keeps the directory on destruction (e.g. to inspect logs after a failure).
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

}  // namespace rinha::stack
