-- ratelimit.lua: sliding-window logs for the unauthenticated routes, up
-- to four windows in one round trip (window() is window.lua's). For
-- window i, KEYS[i] is its zset and ARGV[4i-2..4i+1] are: limit, window
-- (ms), mode, unique member. ARGV[1] is now (ms).
-- Returns, per window: allowed (1/0), remaining, reset (ms).
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local allowed, remaining, reset =
    window(KEYS[i], now, tonumber(ARGV[4 * i - 2]), tonumber(ARGV[4 * i - 1]),
           ARGV[4 * i], ARGV[4 * i + 1])
  out[#out + 1] = allowed
  out[#out + 1] = remaining
  out[#out + 1] = reset
end
return out
