-- refresh.lua: rotate a refresh token. The presented token's hash must
-- be the session's current one; a hash found among the session's rotated
-- ones means a stolen token was replayed, so the session ends.
-- KEYS[1] session hash  KEYS[2] rotated-hash set  KEYS[3] user's zset
-- KEYS[4] user hash  KEYS[5] the session's window (ratelimit_refresh)
-- KEYS[6] the client address's window (ratelimit_refresh_failure)
-- KEYS[7] the revocation stream (revoke.lua)
-- ARGV[1] now (ms)  ARGV[2] idle timeout (ms)  ARGV[3] presented hash
-- ARGV[4] new hash  ARGV[5] refresh lifetime (ms)  ARGV[6] session id
-- ARGV[7] session window limit (0: none)  ARGV[8] its window (ms)
-- ARGV[9] member  ARGV[10] address window limit (0: none)
-- ARGV[11] its window (ms)  ARGV[12] reuse grace (ms, 0: none)
-- ARGV[13] the new token's secret wrapped under the presented token
-- ARGV[14] access token lifetime (ms)
-- Returns {status, roles, refresh_exp, remaining, reset, wrap, current}:
-- 1 rotated, 2 the token rotated last, within the grace (nothing
-- rotated: wrap and current are the stored wrap of the session's current
-- token and its hash), 0 unknown or ended, -1 the session's window is
-- full, -4 reused (session ended), -5 refresh token expired, -6 no match
-- and the address's window is full; remaining and reset are the
-- session's window for 1, 2 and -1, the address's for the others
-- (remaining -1: no window).
-- The grace: browser tabs sharing one refresh cookie wake up and refresh
-- at once, or a client retries a refresh whose answer it lost. Scripts
-- run one at a time, so one rotates and the others find their token as
-- prev_hash, rotated less than the grace ago; they get the session's
-- current token back (the caller unwraps it with the token it holds:
-- Redis keeps only hashes and a wrap no hash opens).
-- The session's window counts only tokens that matched, so one who merely
-- knows a session id cannot use up its budget; the address's window
-- counts only tokens that did not, so a valid token is never refused for
-- what others at its address sent (window() is window.lua's).
local now = tonumber(ARGV[1])

local function no_match(status)
  local limit = tonumber(ARGV[10])
  if limit == 0 then return {status, '', 0, -1, 0, '', ''} end
  local allowed, remaining, reset =
    window(KEYS[6], now, limit, tonumber(ARGV[11]), 'hit', ARGV[9])
  if allowed == 0 and status ~= -4 then status = -6 end
  return {status, '', 0, remaining, reset, '', ''}
end

-- the session's window, then the touch a request makes
local function matched(exp)
  local remaining, reset = -1, 0
  if tonumber(ARGV[7]) > 0 then
    local allowed
    allowed, remaining, reset = window(KEYS[5], now, tonumber(ARGV[7]),
                                       tonumber(ARGV[8]), 'hit', ARGV[9])
    if allowed == 0 then return false, remaining, reset end
  end
  redis.call('HSET', KEYS[1], 'last_access', now)
  redis.call('HINCRBY', KEYS[1], 'request_count', 1)
  redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[2]), exp - now))
  return true, remaining, reset
end

local s = redis.call('HMGET', KEYS[1], 'refresh_hash', 'expires_at',
                     'refresh_exp', 'prev_hash', 'prev_wrap', 'rotated_at')
local exp = tonumber(s[2])
if not s[1] or not exp or now >= exp then return no_match(0) end
if s[1] ~= ARGV[3] then
  local grace = tonumber(ARGV[12])
  if grace > 0 and s[4] == ARGV[3] and s[5] and s[5] ~= '' and
     now < (tonumber(s[6]) or 0) + grace then
    if now >= tonumber(s[3]) then return no_match(-5) end
    local ok, remaining, reset = matched(exp)
    if not ok then return {-1, '', 0, remaining, reset, '', ''} end
    local roles = redis.call('HGET', KEYS[4], 'roles') or ''
    return {2, roles, tonumber(s[3]), remaining, reset, s[5], s[1]}
  end
  if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then
    redis.call('DEL', KEYS[1], KEYS[2])
    redis.call('ZREM', KEYS[3], ARGV[6])
    publish_end(KEYS[7], now, tonumber(ARGV[14]), ARGV[6])
    return no_match(-4)
  end
  return no_match(0)
end
if now >= tonumber(s[3]) then return no_match(-5) end
local ok, remaining, reset = matched(exp)
if not ok then return {-1, '', 0, remaining, reset, '', ''} end
local refresh_exp = math.min(now + tonumber(ARGV[5]), exp)
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[1], 'refresh_hash', ARGV[4], 'refresh_exp',
           refresh_exp, 'prev_hash', ARGV[3], 'prev_wrap', ARGV[13],
           'rotated_at', now)
-- until the session's absolute end: the session itself can never outlive
-- it, so verify's touch need not renew this key on every request
redis.call('PEXPIRE', KEYS[2], exp - now)
local roles = redis.call('HGET', KEYS[4], 'roles') or ''
return {1, roles, refresh_exp, remaining, reset, '', ''}
