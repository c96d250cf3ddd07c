-- wrk script: POST /payments with a fresh correlationId per request (thread id + counter).
-- Usage: wrk -t2 -c20 -d10s --latency -s bench/post_unique.lua http://127.0.0.1:9999/payments
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local counter = 0
local next_tid = 0
-- thread:set makes tid a global of that thread's Lua state: a chunk-level `local tid` would
-- shadow it in request(), and every thread would send the same ids.
setup = function(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end
request = function()
  counter = counter + 1
  local body = string.format('{"correlationId":"%08x-0000-4000-8%03d-%012d","amount":19.90}',
                             os.time() % 0xffffffff, tid or 0, counter)
  return wrk.format(nil, nil, nil, body)
end
