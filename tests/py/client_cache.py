"""redis-py's client-side caching (RESP3 + CLIENT TRACKING) against the server:
repeated reads are served from the library's cache (the server sees no
GET for them), and a write by another client drops the cached entry
(the next read returns the new value)."""
import argparse
import sys
import time

import redis
from redis.cache import CacheConfig
from redis.connection import CacheProxyConnection

# redis-py enables its cache only for servers announcing 7.4 or later (a
# product policy, not a protocol need: 7.0's CLIENT TRACKING is what it
# uses). rsredis announces 7.0, like the real 7.0 this script also runs
# against, so the floor is lowered to exercise the protocol.
CacheProxyConnection.MIN_ALLOWED_VERSION = "7.0.0"

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
port = ap.parse_args().port


def get_calls(admin):
    stats = admin.info("commandstats").get("cmdstat_get", {})
    return stats.get("calls", 0)


admin = redis.Redis(port=port)
cached = redis.Redis(port=port, protocol=3, cache_config=CacheConfig())
admin.set("user:1", "v1")
admin.set("user:2", "w1")

assert cached.get("user:1") == b"v1"
assert cached.get("user:2") == b"w1"
before = get_calls(admin)
for _ in range(200):
    assert cached.get("user:1") == b"v1"
    assert cached.get("user:2") == b"w1"
after = get_calls(admin)
print(f"GET calls seen by the server for 400 cached reads: {after - before}")
assert after == before, "cached reads reached the server"
tracking = admin.info("clients")["tracking_clients"]
assert tracking >= 1, f"tracking_clients={tracking}"

# Another client changes user:1: the cached entry must be dropped.
admin.set("user:1", "v2")
deadline = time.monotonic() + 5
while cached.get("user:1") != b"v2":
    if time.monotonic() > deadline:
        print("stale value still served 5 s after the write", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.01)
# user:2 was not written: still served from the cache.
before = get_calls(admin)
assert cached.get("user:2") == b"w1"
assert get_calls(admin) == before
# The new value is cached again.
before = get_calls(admin)
for _ in range(50):
    assert cached.get("user:1") == b"v2"
assert get_calls(admin) == before
# A flush invalidates everything.
admin.flushall()
deadline = time.monotonic() + 5
while cached.get("user:2") is not None:
    if time.monotonic() > deadline:
        print("value served from the cache after FLUSHALL", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.01)
print("client-side caching: ok")
