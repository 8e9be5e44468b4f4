-- register.lua: create a user if the email is free, atomically, so two
-- workers registering one email cannot both win.
-- KEYS[1] email index  KEYS[2] user hash  KEYS[3] user set
-- ARGV[1] user id, then field/value pairs of the user hash.
if redis.call('SET', KEYS[1], ARGV[1], 'NX') == false then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
redis.call('SADD', KEYS[3], ARGV[1])
return 1
