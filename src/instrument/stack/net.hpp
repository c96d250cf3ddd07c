// Loopback helpers for starting processes on free ports and waiting for them to answer.
// Threading: free functions, safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/status.hpp"

namespace rinha::stack {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed). Another
// process may take it before it is used; callers start their server promptly. Aborts the
// process if no socket can be created (the environment is unusable for a stack).
int free_port();

// "127.0.0.1:<port>".
std::string loopback_address(int port);

// Polls GET url until it answers 2xx, the deadline passes, or still_running() turns false
// (a process that died will never answer: fail at once instead of waiting out the timeout).
// The error names the url and the last outcome seen (status code or transport error).
Status wait_http_ok(const std::string& url, std::chrono::milliseconds timeout,
                    const std::function<bool()>& still_running = {});

// The same, but any HTTP answer counts (a server that is up but has no route for url).
Status wait_http_answer(const std::string& url, std::chrono::milliseconds timeout,
                        const std::function<bool()>& still_running = {});

}  // namespace rinha::stack
