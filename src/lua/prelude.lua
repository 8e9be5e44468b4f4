-- prelude.lua: prepended to every script of an authenticated route, so
-- that authentication, the rate limit, the session touch and the route's
-- own work cost one round trip. All keys of one user share a hash tag.
--
-- KEYS[1] session hash        ARGV[1] now (ms)
-- KEYS[2] revoked-jti key     ARGV[2] idle timeout (ms)
-- KEYS[3] user's session zset ARGV[3] session key prefix "P{u:ID}:s:"
-- KEYS[4] user hash           ARGV[4] session id of the token
-- KEYS[5] rate-limit counter  ARGV[5] limit (0: none) ARGV[6] window (ms)
-- KEYS[6] revocation stream   ARGV[7] "1" when the route needs a role the
--                                     token lacks (answered after auth)
--                             ARGV[8] access token lifetime (ms)
-- Route scripts use KEYS[7..] and ARGV[9..].
--
-- Replies start with a status (1 ok, 0 unauthorized, -1 rate limited,
-- -2 forbidden, -3 not found), then the rate limit's remaining count and
-- reset time (ms; remaining -1 when the route has no limit).

local now = tonumber(ARGV[1])

-- End a session of zset (the caller's by default), published
-- (publish_end() is revoke.lua's, prepended to this file).
local function end_session(prefix, sid, zset)
  redis.call('DEL', prefix .. sid, prefix .. sid .. ':rt')
  redis.call('ZREM', zset or KEYS[3], sid)
  publish_end(KEYS[6], now, tonumber(ARGV[8]), sid)
end

-- The user's limit (counter() is counter.lua's, prepended to this file).
-- Returns allowed, remaining, reset.
local function rate_limit()
  local limit = tonumber(ARGV[5])
  if limit == 0 then return true, -1, 0 end
  local allowed, remaining, reset =
    counter(KEYS[5], now, limit, tonumber(ARGV[6]), 1, false)
  return allowed == 1, remaining, reset
end

-- The session's expires_at (ms) and request count if the token is not
-- revoked and its session is live, else nil (an expired session is
-- cleaned up).
local function session_expiry()
  if redis.call('EXISTS', KEYS[2]) == 1 then return nil end
  local s = redis.call('HMGET', KEYS[1], 'expires_at', 'request_count')
  local exp = tonumber(s[1])
  if not exp then return nil end
  if now >= exp then
    end_session(ARGV[3], ARGV[4])
    return nil
  end
  return exp, tonumber(s[2]) or 0
end

-- A request on the session: last access, count, idle timeout renewed, in
-- two calls (each redis.call costs about a microsecond of Redis' time;
-- the script is atomic, so the count read above cannot have moved). The
-- session's rotated-refresh set needs no renewal here: refresh.lua gives
-- it the session's whole remaining life.
local function touch(exp, count)
  redis.call('HSET', KEYS[1], 'last_access', now, 'request_count', count + 1)
  redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[2]), exp - now))
end

-- Session fields as the API lists them, or nil if the session is gone.
local SESSION_FIELDS = {'created_at', 'last_access', 'expires_at', 'ip',
                        'user_agent', 'request_count'}
local function session_row(prefix, sid)
  local f = redis.call('HMGET', prefix .. sid, unpack(SESSION_FIELDS))
  if not f[3] or tonumber(f[3]) <= now then return nil end
  return {sid, f[1], f[2], f[3], f[4] or '', f[5] or '', f[6] or '0'}
end

-- Every live session of the zset, newest first; dead members pruned.
local function list_sessions(zset, prefix)
  local rows = {}
  for _, sid in ipairs(redis.call('ZREVRANGE', zset, 0, -1)) do
    local row = session_row(prefix, sid)
    if row then
      rows[#rows + 1] = row
    else
      end_session(prefix, sid, zset)
    end
  end
  return rows
end

local RL_REMAINING, RL_RESET = -1, 0
-- An empty ARGV[4] is the operator CLI (sg_store_operator), which has no
-- session: no authentication, no limit. Clients always have a session id.
if ARGV[4] ~= '' then
  local exp, count = session_expiry()
  if not exp then return {0, -1, 0} end
  local ok
  ok, RL_REMAINING, RL_RESET = rate_limit()
  if not ok then return {-1, RL_REMAINING, RL_RESET} end
  touch(exp, count)
  if ARGV[7] == '1' then return {-2, RL_REMAINING, RL_RESET} end
end
