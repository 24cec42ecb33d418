"""A cache/session-store workload through redis-py: SET EX, GET, EXPIRE, DEL, TTL."""
import argparse
import json
import time

import redis

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
args = ap.parse_args()
r = redis.Redis(port=args.port, decode_responses=True)

sessions = {f"session:{i}": {"user": i, "cart": list(range(i % 5))} for i in range(500)}
pipe = r.pipeline(transaction=False)
for k, v in sessions.items():
    pipe.set(k, json.dumps(v), ex=60)
pipe.execute()
for k, v in sessions.items():
    assert json.loads(r.get(k)) == v, k
    assert 58 <= r.ttl(k) <= 60, r.ttl(k)

# Sliding expiry on access, logout, and short-lived sessions that vanish.
assert r.expire("session:1", 120)
assert 118 <= r.ttl("session:1") <= 120
assert r.delete("session:2") == 1 and r.get("session:2") is None
r.set("session:short", "x", px=150)
assert r.get("session:short") == "x"
# The 150 ms TTL must run out: waiting past it is the thing under test.
time.sleep(0.3)
assert r.get("session:short") is None and r.exists("session:short") == 0
assert r.ttl("session:missing") == -2
r.set("counter", 0)
for _ in range(100):
    r.incr("counter")
assert r.get("counter") == "100"
print("session store: 500 sessions with TTLs, sliding expiry, logout and expiry all behave")
