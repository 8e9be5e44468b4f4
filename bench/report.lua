-- report.lua -- the done() hook shared by the bench/*.lua wrk scripts: one
-- machine-readable line that bench/run.sh parses (latencies in us).
--   BENCH requests=N duration_us=D rps=R p50_us=A p99_us=B max_us=M
--         errors=E non2xx=S econnect=C eread=R ewrite=W etimeout=T
-- errors = C + R + W + T (socket errors and timeouts); non2xx counts
-- responses with a status of 400 and above (wrk's "Non-2xx or 3xx").
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d errors=%d non2xx=%d econnect=%d eread=%d ewrite=%d etimeout=%d\n",
      summary.requests, summary.duration,
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(99), latency.max,
      e.connect + e.read + e.write + e.timeout, e.status,
      e.connect, e.read, e.write, e.timeout))
end
