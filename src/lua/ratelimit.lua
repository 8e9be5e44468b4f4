-- ratelimit.lua: sliding-window logs for the unauthenticated routes, up
-- to four windows in one round trip. For window i, KEYS[i] is its zset
-- and ARGV[4i-2..4i+1] are: limit, window (ms), mode, unique member.
-- ARGV[1] is now (ms). Modes: "hit" counts the request if allowed,
-- "peek" only looks, "add" counts it unconditionally (a failure).
-- Returns, per window: allowed (1/0), remaining, reset (ms).
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[4 * i - 2])
  local window = tonumber(ARGV[4 * i - 1])
  local mode, member = ARGV[4 * i], ARGV[4 * i + 1]
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[i])
  local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
  local reset = now + window
  if oldest[2] then reset = tonumber(oldest[2]) + window end
  local allowed = count < limit
  if mode == 'add' or (mode == 'hit' and allowed) then
    redis.call('ZADD', KEYS[i], now, member)
    redis.call('PEXPIRE', KEYS[i], window)
    count = count + 1
  end
  local remaining = math.max(limit - count, 0)
  out[#out + 1] = allowed and 1 or 0
  out[#out + 1] = remaining
  out[#out + 1] = reset
end
return out
