-- bearer.lua -- GET of the URL given to wrk with an access token:
-- GET /auth/verify, GET /sessions. The token comes from $BENCH_TOKEN.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local token = os.getenv("BENCH_TOKEN") or error("BENCH_TOKEN is not set")
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. token
