-- signin.lua -- POST /auth/signin with the credentials in $BENCH_EMAIL and
-- $BENCH_PASSWORD (a registered user: every request is a real sign-in,
-- one full password hash, and a new session).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local email = os.getenv("BENCH_EMAIL") or error("BENCH_EMAIL is not set")
local password = os.getenv("BENCH_PASSWORD") or error("BENCH_PASSWORD is not set")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', email, password)
