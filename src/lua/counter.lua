-- counter.lua: the sliding-window counter of the per-user limit
-- (ratelimit_user), prepended to every authenticated route's script, where
-- it runs on every request: one GET and one SET, whatever the limit, where
-- window.lua's log costs five calls and memory in proportion to the limit.
--
-- The key holds "START PREV CUR": the current period began at START (ms)
-- and lasts one window; CUR requests were counted in it, PREV in the one
-- before. A user's first request starts a period, so every request within
-- one window of it is counted exactly (the tests' and most clients' case).
-- After that, the count of the window that ends now is estimated as
-- PREV * (the share of the previous period still inside it) + CUR, taking
-- the previous period's requests as spread evenly. docs/RATE_LIMITS.md
-- says how far off that can be.
--
-- n: requests to count, only if allowed unless always (requests already
-- answered, as verify_mode = local's batches are).
-- Returns allowed (1/0), remaining and reset (ms: when the estimate next
-- drops by one, that is when the window frees a slot).
local function counter(key, now, limit, length, n, always)
  local start, prev, cur
  local v = redis.pcall('GET', key)
  if type(v) == 'string' then
    start, prev, cur = string.match(v, '^(%d+) (%d+) (%d+)$')
    start, prev, cur = tonumber(start), tonumber(prev), tonumber(cur)
  elseif type(v) == 'table' and v.err then
    redis.call('DEL', key) -- another type: a window log from before
  end
  if not start or now >= start + 2 * length then
    start, prev, cur = now, 0, 0
  elseif now >= start + length then
    start, prev, cur = start + length, cur, 0
  end
  -- a host whose clock is behind the one that started the period
  local t = math.max(now, start)
  local function estimate(at)
    return prev * (start + length - at) / length + cur
  end
  local allowed = estimate(t) + n <= limit
  if allowed or always then
    cur = cur + n
    redis.call('SET', key, string.format('%d %d %d', start, prev, cur),
               'PX', start + 2 * length - now)
  end
  local remaining = math.max(math.floor(limit - estimate(t)), 0)
  -- the estimate must fall to limit - remaining - 1; it falls linearly
  -- through this period (PREV leaving), then through the next (CUR leaving)
  local target = limit - remaining - 1
  local reset
  if cur <= target and prev > 0 then
    reset = start + length - (target - cur) * length / prev
  elseif cur > 0 then
    reset = start + 2 * length - math.max(target, 0) * length / cur
  else
    reset = t
  end
  return allowed and 1 or 0, remaining, math.ceil(math.max(reset, t))
end
