-- sessions_end.lua: DELETE /sessions (every session of the caller but
-- the current one), or with KEYS[6] (another user's zset), KEYS[7] (its
-- hash) and ARGV[9] (its session prefix) DELETE
-- /admin/users/{id}/sessions (all of them).
local zset, prefix, keep = KEYS[3], ARGV[3], ARGV[4]
if KEYS[6] then
  if redis.call('EXISTS', KEYS[7]) == 0 then return {-3, RL_REMAINING, RL_RESET} end
  zset, prefix, keep = KEYS[6], ARGV[9], ''
end
local n = 0
for _, row in ipairs(list_sessions(zset, prefix)) do
  if row[1] ~= keep then
    redis.call('DEL', prefix .. row[1], prefix .. row[1] .. ':rt')
    redis.call('ZREM', zset, row[1])
    n = n + 1
  end
end
return {1, RL_REMAINING, RL_RESET, n}
