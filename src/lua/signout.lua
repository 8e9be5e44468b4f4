-- signout.lua: POST /auth/signout. ARGV[9] the token's remaining life
-- (ms): its jti (KEYS[2]) stays revoked until then; the session ends.
redis.call('SET', KEYS[2], '1', 'PX', math.max(tonumber(ARGV[9]), 1))
end_session(ARGV[3], ARGV[4])
return {1, RL_REMAINING, RL_RESET}
