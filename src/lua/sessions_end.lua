-- sessions_end.lua: DELETE /sessions (every session of the caller but
-- the current one), or with KEYS[7] (another user's zset), KEYS[8] (its
-- hash) and ARGV[9] (its session prefix) DELETE
-- /admin/users/{id}/sessions (all of them).
local zset, prefix, keep = KEYS[3], ARGV[3], ARGV[4]
if KEYS[7] then
  if redis.call('EXISTS', KEYS[8]) == 0 then return {-3, RL_REMAINING, RL_RESET} end
  zset, prefix, keep = KEYS[7], ARGV[9], ''
end
local n = 0
for _, row in ipairs(list_sessions(zset, prefix)) do
  if row[1] ~= keep then
    end_session(prefix, row[1], zset)
    n = n + 1
  end
end
return {1, RL_REMAINING, RL_RESET, n}
