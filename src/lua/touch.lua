-- touch.lua: the activity of verify_mode = local, written behind in one
-- round trip per batch (activity.c): for each session, its requests since
-- the last flush and the time of the last one. A session still live gets
-- them (last_access, request_count, its idle TTL from that last request);
-- one that idled out in Redis meanwhile is taken out of its user's zset
-- and published as ended (publish_end() is revoke.lua's), so every host
-- refuses its tokens: idle expiry found late, never missed.
-- KEYS[1] the revocation stream; then per session i (from 1):
--   KEYS[2i] its hash, KEYS[2i+1] its user's zset
-- ARGV[1] now (ms)  ARGV[2] idle timeout (ms)  ARGV[3] access token
-- lifetime (ms); then per session i: ARGV[3i+1] its id, ARGV[3i+2] its
-- request count, ARGV[3i+3] its last request (ms)
-- Returns how many sessions were found ended.
local now, idle, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ended = 0
for i = 1, (#KEYS - 1) / 2 do
  local key, zset = KEYS[2 * i], KEYS[2 * i + 1]
  local sid, count, last = ARGV[3 * i + 1], tonumber(ARGV[3 * i + 2]),
                           tonumber(ARGV[3 * i + 3])
  local exp = tonumber(redis.call('HGET', key, 'expires_at'))
  if exp and now < exp and now - last < idle then
    if tonumber(redis.call('HGET', key, 'last_access') or 0) < last then
      redis.call('HSET', key, 'last_access', last)
    end
    redis.call('HINCRBY', key, 'request_count', count)
    redis.call('PEXPIRE', key, math.min(idle - (now - last), exp - now))
  elseif redis.call('ZSCORE', zset, sid) then
    -- idled out or past its end, and not ended by anyone: end it here
    redis.call('DEL', key, key .. ':rt')
    redis.call('ZREM', zset, sid)
    publish_end(KEYS[1], now, ttl, sid)
    ended = ended + 1
  end
end
return ended
