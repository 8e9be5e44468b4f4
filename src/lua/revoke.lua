-- revoke.lua: prepended to every script that can end a session, so that
-- each end is published where it happens, in the same atomic script.
-- The revocation stream is what verify_mode = local hosts follow
-- (docs/REDIS.md): an entry {s = session id, u = until} says "refuse this
-- session's tokens until u", the latest time an access token issued so
-- far can expire (now + the access token lifetime, ttl ms). Entries are
-- trimmed by id (MINID: their time) once older than ttl plus a minute of
-- clock skew, so the stream holds what ended within one token lifetime;
-- the key expires as long after the last end, like every key but the
-- user records.
-- In a Redis Cluster no stream is kept (no host runs in local mode there,
-- and the stream would be in another slot than the user's keys): the
-- store names a key of the user's slot ending in ":no-revocations".
local function publish_end(stream, now, ttl, sid)
  if string.sub(stream, -15) == ':no-revocations' then return end
  redis.call('XADD', stream, 'MINID', '~', now - ttl - 60000, '*',
             's', sid, 'u', now + ttl)
  redis.call('PEXPIRE', stream, ttl + 60000)
end
