// errno_text: the message of an errno value, safe from any thread (std::strerror may return a
// buffer another thread's call overwrites; clang-tidy's concurrency-mt-unsafe flags it).
//
// Threading: pure, any thread.
#pragma once

#include <string>

namespace rinha {

// "No such file or directory" for ENOENT; "Unknown error N" for a value libc does not know.
std::string errno_text(int err);

}  // namespace rinha
