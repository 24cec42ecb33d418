"""A sliding-window rate limiter as a Lua script called through EVALSHA by
several clients at once; the admitted count must be exactly the limit."""
import argparse
import threading

import redis

LIMITER = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  return 1
end
return 0
"""

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
args = ap.parse_args()
r = redis.Redis(port=args.port)
sha = r.script_load(LIMITER)
assert r.script_exists(sha) == [True]

LIMIT, THREADS, CALLS = 50, 8, 40
admitted = [0] * THREADS
now = 1_000_000  # one fixed instant: every call falls in the same window


def worker(t):
    c = redis.Redis(port=args.port)
    for i in range(CALLS):
        admitted[t] += c.evalsha(sha, 1, "limit:api", now, 60_000, LIMIT, f"{t}:{i}")


threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
total = sum(admitted)
assert total == LIMIT, f"admitted {total}, expected exactly {LIMIT}"
assert r.zcard("limit:api") == LIMIT
# The window slides: later calls are admitted again once old entries fall out.
assert r.evalsha(sha, 1, "limit:api", now + 60_001, 60_000, LIMIT, "late") == 1
print(f"rate limiter: {THREADS} clients x {CALLS} EVALSHA calls, exactly {LIMIT} admitted")
