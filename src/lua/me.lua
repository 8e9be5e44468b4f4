-- me.lua: GET /auth/me; the user record without its password hash.
local u = redis.call('HMGET', KEYS[4], 'id', 'email', 'name', 'roles',
                     'created_at')
if not u[1] then return {0, -1, 0} end
return {1, RL_REMAINING, RL_RESET, u[1], u[2], u[3] or '', u[4] or '',
        u[5] or '0'}
