-- common.lua - shared by the wrk scripts of contrib/bench (loaded with
-- dofile from each of them; run.sh exports BENCH_LUA_DIR).
--
-- Gives every wrk thread a distinct number `tid` (0, 1, ...) and the thread
-- count `nthreads`, and prints one machine-readable line at the end that
-- run.sh parses:
--   BENCHRESULT requests=N duration_us=N rps=F p50_us=N p99_us=N
--               non2xx=N connect=N read=N write=N timeout=N readds=N
-- (readds: a global the PATCH script counts; 0 elsewhere)
-- (wrk's own --latency text output is printed as well, for humans.)

local threads = {}
local next_tid = 0

function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   table.insert(threads, thread)
   for _, t in ipairs(threads) do
      t:set("nthreads", next_tid)
   end
end

-- Reads a file of one token per line into an array.
function read_lines(path)
   local t = {}
   local f = assert(io.open(path, "r"))
   for line in f:lines() do
      if line ~= "" then
         t[#t + 1] = line
      end
   end
   f:close()
   return t
end

function done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   local readds = 0
   for _, t in ipairs(threads) do
      readds = readds + (tonumber(t:get("readds")) or 0)
   end
   io.write(string.format(
      "BENCHRESULT requests=%d duration_us=%d rps=%.1f p50_us=%d " ..
      "p99_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d " ..
      "readds=%d\n",
      summary.requests, summary.duration, summary.requests / secs,
      latency:percentile(50), latency:percentile(99), e.status,
      e.connect, e.read, e.write, e.timeout, readds))
end

-- BENCH_DEBUG=1: print the first failed response of each thread (defining
-- response() makes wrk hand every body to Lua, so only when asked).
if os.getenv("BENCH_DEBUG") == "1" then
   local shown = false
   function response(status, headers, body)
      if status >= 300 and not shown then
         shown = true
         io.stderr:write(string.format("thread %s: HTTP %d: %s\n",
            tostring(tid), status, (body or ""):sub(1, 400)))
      end
   end
end
