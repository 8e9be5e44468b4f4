-- touch.lua: the activity of verify_mode = local, written behind in one
-- round trip per batch (activity.c): for each session, its requests since
-- the last flush and the time of the last one. A session still live gets
-- them (last_access, request_count, its idle TTL from that last request)
-- and so does its user's ratelimit_user counter (counter() is
-- counter.lua's, prepended to this file), whether or not it is over: they
-- were answered. One that idled out in Redis meanwhile is taken out of its
-- user's zset and published as ended (publish_end() is revoke.lua's), so
-- every host refuses its tokens: idle expiry found late, never missed.
-- KEYS[1] the revocation stream; then per session i (from 1): KEYS[3i-1]
--   its hash, KEYS[3i] its user's zset, KEYS[3i+1] its counter ("": none)
-- ARGV[1] now (ms)  ARGV[2] idle timeout (ms)  ARGV[3] access token
-- lifetime (ms)  ARGV[4] the limit (0: none)  ARGV[5] its window (ms);
-- then per session i: ARGV[3i+3] its id, ARGV[3i+4] its request count,
-- ARGV[3i+5] its last request (ms)
-- Returns how many sessions were found ended, then for each session its
-- counter's remaining and reset (ms), -1 and 0 without one.
local now, idle, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local limit, length = tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {0}
for i = 1, (#KEYS - 1) / 3 do
  local key, zset, rl = KEYS[3 * i - 1], KEYS[3 * i], KEYS[3 * i + 1]
  local sid, count, last = ARGV[3 * i + 3], tonumber(ARGV[3 * i + 4]),
                           tonumber(ARGV[3 * i + 5])
  local exp = tonumber(redis.call('HGET', key, 'expires_at'))
  local remaining, reset = -1, 0
  if exp and now < exp and now - last < idle then
    if tonumber(redis.call('HGET', key, 'last_access') or 0) < last then
      redis.call('HSET', key, 'last_access', last)
    end
    redis.call('HINCRBY', key, 'request_count', count)
    redis.call('PEXPIRE', key, math.min(idle - (now - last), exp - now))
    if limit > 0 and rl ~= '' then
      local _
      _, remaining, reset = counter(rl, now, limit, length, count, true)
    end
  elseif redis.call('ZSCORE', zset, sid) then
    -- idled out or past its end, and not ended by anyone: end it here
    redis.call('DEL', key, key .. ':rt')
    redis.call('ZREM', zset, sid)
    publish_end(KEYS[1], now, ttl, sid)
    out[1] = out[1] + 1
  end
  out[#out + 1] = remaining
  out[#out + 1] = reset
end
return out
