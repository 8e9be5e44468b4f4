-- signin.lua: all a sign-in needs from Redis in one round trip: its two
-- windows, the account and whether the client's address is one its user
-- signed in from. It runs the same commands whether or not the email has
-- an account (an unknown email reads the keys of an id no account has),
-- so that neither the answer nor its time tells whether an account
-- exists, is locked, or knows this address.
-- The attempt is counted in the account's failure window now, before the
-- password is checked, and taken out again by session_create.lua when it
-- succeeds: checking first and counting after would let parallel guesses
-- past the limit.
-- KEYS[1] per-IP window  KEYS[2] the account's failure window
-- KEYS[3] the email index
-- ARGV[1] now (ms)  ARGV[2] IP limit (0: off)  ARGV[3] IP window (ms)
-- ARGV[4] unique member  ARGV[5] failure limit (0: off)
-- ARGV[6] failure window (ms)  ARGV[7] head of a user's keys, "P{u:"
-- ARGV[8] the client's address (bucket)
-- ARGV[9] how long an address stays known after a sign-in (ms)
-- Returns {IP allowed, remaining, reset, account allowed, remaining,
-- reset, known (1/0), id, email, name, roles, created_at, password}, the
-- user fields nil when there is no account.
local now = tonumber(ARGV[1])
local out = {1, 0, 0, 1, 0, 0}
if tonumber(ARGV[2]) > 0 then
  out[1], out[2], out[3] =
    window(KEYS[1], now, tonumber(ARGV[2]), tonumber(ARGV[3]), 'hit', ARGV[4])
end
if tonumber(ARGV[5]) > 0 then
  out[4], out[5], out[6] =
    window(KEYS[2], now, tonumber(ARGV[5]), tonumber(ARGV[6]), 'hit', ARGV[4])
end
local uid = redis.call('GET', KEYS[3]) or '-'
local user = redis.call('HMGET', ARGV[7] .. uid .. '}:user', 'id', 'email',
                        'name', 'roles', 'created_at', 'password')
local seen = redis.call('ZSCORE', ARGV[7] .. uid .. '}:addrs', ARGV[8])
out[7] = (seen and tonumber(seen) > now - tonumber(ARGV[9])) and 1 or 0
for i = 1, 6 do out[7 + i] = user[i] end
return out
