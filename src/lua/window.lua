-- window.lua: the sliding-window log, prepended to every script that
-- keeps a rate-limit window (the authenticated routes' prelude,
-- ratelimit, signin, refresh), so the rule is written once.
-- A window is a zset of request times: exact counts, an exact reset time,
-- memory bounded by the limit. mode: "hit" counts the request if it is
-- allowed, "peek" only looks, "add" counts it whatever (a failure).
-- Returns allowed (1/0), remaining, reset (ms when the oldest entry
-- leaves the window).
local function window(key, now, limit, length, mode, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - length)
  local count = redis.call('ZCARD', key)
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  local reset = now + length
  if oldest[2] then reset = tonumber(oldest[2]) + length end
  local allowed = count < limit
  if mode == 'add' or (mode == 'hit' and allowed) then
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, length)
    count = count + 1
  end
  return allowed and 1 or 0, math.max(limit - count, 0), reset
end
