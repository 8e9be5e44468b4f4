-- load.lua -- the wrk script of tests/faults/run.sh: GET the URL given to
-- wrk (with "Authorization: Bearer $FAULT_TOKEN" when that is set) and
-- count what comes back, so that a fault's effect on clients can be read
-- as figures rather than wrk's "Non-2xx" total.
--
-- At the end (done()) it writes to $FAULT_OUT:
--   SUMMARY requests=N s200=.. s401=.. s503=.. sother=.. other=CODE:N,...
--           noretry=N degraded=N econnect=N eread=N ewrite=N etimeout=N
--           p50_us=N p99_us=N max_us=N
--   B <ms> <n200> <n401> <n503> <nother> <ndegraded>   a 10 ms bucket
-- where noretry counts 503 answers without Retry-After, degraded the
-- answers carrying X-Sessiongate-Degraded, and <ms> is the bucket's start
-- in milliseconds since the epoch (the clock the shell's $EPOCHREALTIME
-- reads), taken when the answer arrived.
--
-- wrk is LuaJIT: the clock is gettimeofday() through the FFI. Each thread
-- keeps its own tables; done() (main state) merges them.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_usec; } fault_timeval;
int gettimeofday(fault_timeval *tv, void *tz);
]]

local token = os.getenv("FAULT_TOKEN")
if token and token ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.method = "GET"

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

-- Per thread. Flat tables only: wrk's thread:get() cannot copy a table
-- of tables (it panics with "invalid key to 'next'").
counts = {}   -- status -> answers
-- bucket (10 ms since the epoch) -> answers 200, 401, 503, any other;
-- and those marked degraded (counted in their status' table too)
n200, n401, n503, nother, ndeg = {}, {}, {}, {}, {}
noretry = 0
degraded = 0
local tv = ffi.new("fault_timeval")

function response(status, headers, body)
   ffi.C.gettimeofday(tv, nil)
   local b = math.floor((tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000) / 10)
   local t = status == 200 and n200 or status == 401 and n401 or
      status == 503 and n503 or nother
   t[b] = (t[b] or 0) + 1
   counts[status] = (counts[status] or 0) + 1
   -- wrk keeps header names as the server sent them
   if status == 503 and not (headers["Retry-After"] or headers["retry-after"]) then
      noretry = noretry + 1
   end
   if headers["X-Sessiongate-Degraded"] or headers["x-sessiongate-degraded"] then
      degraded = degraded + 1
      ndeg[b] = (ndeg[b] or 0) + 1
   end
end

function done(summary, latency, requests)
   local all, rows = {}, {}
   local nr, dg = 0, 0
   for _, t in ipairs(threads) do
      for s, n in pairs(t:get("counts")) do
         all[s] = (all[s] or 0) + n
      end
      for i, name in ipairs({"n200", "n401", "n503", "nother", "ndeg"}) do
         for b, n in pairs(t:get(name)) do
            local row = rows[b]
            if not row then
               row = {0, 0, 0, 0, 0}
               rows[b] = row
            end
            row[i] = row[i] + n
         end
      end
      nr = nr + t:get("noretry")
      dg = dg + t:get("degraded")
   end
   local other, others = 0, {}
   for s, n in pairs(all) do
      if s ~= 200 and s ~= 401 and s ~= 503 then
         other = other + n
         table.insert(others, s .. ":" .. n)
      end
   end
   table.sort(others)
   local e = summary.errors
   local f = assert(io.open(os.getenv("FAULT_OUT") or "/dev/stdout", "w"))
   f:write(string.format(
      "SUMMARY requests=%d s200=%d s401=%d s503=%d sother=%d other=%s noretry=%d degraded=%d econnect=%d eread=%d ewrite=%d etimeout=%d p50_us=%d p99_us=%d max_us=%d\n",
      summary.requests, all[200] or 0, all[401] or 0, all[503] or 0, other,
      #others > 0 and table.concat(others, ",") or "-", nr, dg,
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.max))
   local keys = {}
   for b in pairs(rows) do table.insert(keys, b) end
   table.sort(keys)
   for _, b in ipairs(keys) do
      local r = rows[b]
      f:write(string.format("B %d %d %d %d %d %d\n", b * 10, r[1], r[2], r[3], r[4], r[5]))
   end
   f:close()
end
