-- session_end.lua: DELETE /sessions/{id}. ARGV[9] the session to end,
-- which must be one of the caller's live sessions; otherwise "not found",
-- without saying whether it exists for someone else.
local sid = ARGV[9]
if not redis.call('ZSCORE', KEYS[3], sid) or
   not session_row(ARGV[3], sid) then
  return {-3, RL_REMAINING, RL_RESET}
end
end_session(ARGV[3], sid)
return {1, RL_REMAINING, RL_RESET}
