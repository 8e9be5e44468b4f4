-- session_create.lua: a new session at sign-in; dead entries of the
-- user's zset are pruned and, past max_sessions_per_user, the oldest
-- other sessions are ended.
-- KEYS[1] user's session zset  KEYS[2] the new session hash
-- KEYS[3] the user's known sign-in addresses, a zset of address -> last
--         sign-in (ms), each entry ageing on its own (see signin.lua)
-- ARGV[1] now (ms)  ARGV[2] expires_at (ms)  ARGV[3] idle timeout (ms)
-- ARGV[4] max sessions  ARGV[5] session key prefix  ARGV[6] session id
-- KEYS[4] the account's sign-in failure window
-- ARGV[7] client address (bucket)  ARGV[8] how long to remember it (ms)
-- ARGV[9] this sign-in's entry in KEYS[4], counted by signin.lua before
--         the password was checked: it succeeded, so it is no failure
-- KEYS[5] the revocation stream (revoke.lua)
-- ARGV[10] access token lifetime (ms)
-- ARGV[11..] field/value pairs of the session hash
-- Returns the number of sessions ended to make room.
local now, exp = tonumber(ARGV[1]), tonumber(ARGV[2])
local prefix, zset = ARGV[5], KEYS[1]
for _, sid in ipairs(redis.call('ZRANGE', zset, 0, -1)) do
  if redis.call('EXISTS', prefix .. sid) == 0 then -- idle expiry, found
    redis.call('DEL', prefix .. sid .. ':rt')
    redis.call('ZREM', zset, sid)
    publish_end(KEYS[5], now, tonumber(ARGV[10]), sid)
  end
end
redis.call('ZREM', KEYS[4], ARGV[9])
redis.call('HSET', KEYS[2], unpack(ARGV, 11))
redis.call('ZADD', KEYS[3], now, ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[8]))
redis.call('PEXPIRE', KEYS[3], ARGV[8])
redis.call('PEXPIRE', KEYS[2], math.min(tonumber(ARGV[3]), exp - now))
redis.call('ZADD', zset, now, ARGV[6])
-- The oldest other session makes room, never the new one: its score is
-- when its request started, so sign-ins that started later but finished
-- first can all be newer, and ending it would answer 200 with tokens of
-- a session that never lived. Past the maximum (at least 1) there are
-- at least two entries, so the other one is there.
local evicted = 0
while redis.call('ZCARD', zset) > tonumber(ARGV[4]) do
  local two = redis.call('ZRANGE', zset, 0, 1)
  local oldest = two[1] ~= ARGV[6] and two[1] or two[2]
  redis.call('DEL', prefix .. oldest, prefix .. oldest .. ':rt')
  redis.call('ZREM', zset, oldest)
  publish_end(KEYS[5], now, tonumber(ARGV[10]), oldest)
  evicted = evicted + 1
end
if redis.call('PTTL', zset) < exp - now then
  redis.call('PEXPIRE', zset, exp - now)
end
return evicted
