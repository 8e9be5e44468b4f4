-- get.lua -- plain GET of the URL given to wrk (GET /health, the hello
-- ceiling). No headers beyond wrk's own.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
