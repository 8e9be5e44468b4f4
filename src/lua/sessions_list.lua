-- sessions_list.lua: GET /sessions, or with KEYS[7] (another user's zset),
-- KEYS[8] (that user's hash: not found if absent) and ARGV[9] (its
-- session prefix) GET /admin/users/{id}/sessions.
-- Rows of 7: id, created_at, last_access, expires_at, ip, user_agent,
-- request_count.
local zset, prefix = KEYS[3], ARGV[3]
if KEYS[7] then
  if redis.call('EXISTS', KEYS[8]) == 0 then return {-3, RL_REMAINING, RL_RESET} end
  zset, prefix = KEYS[7], ARGV[9]
end
local reply = {1, RL_REMAINING, RL_RESET}
for _, row in ipairs(list_sessions(zset, prefix)) do
  for _, v in ipairs(row) do reply[#reply + 1] = v end
end
return reply
