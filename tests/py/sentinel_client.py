"""redis-py's Sentinel support across a failover.

Usage: sentinel_client.py <sentinel ports, comma separated> <master pid> [stop|shutdown]

Discovers the master through the sentinels (redis-py defaults to RESP3 on every
connection, sentinels included), writes through `master_for`, reads through
`slave_for`, then freezes the master (SIGSTOP, or SHUTDOWN NOSAVE) itself and
keeps writing until writes succeed again on the new master. Prints one JSON
object: the addresses, the number of failed writes, the seconds from the
master's stop to the first +switch-master seen on any sentinel, and to
the first successful write. Used by tests/it/sentinel_interop.rs and
benches/failover.sh. The caller resumes (SIGCONT) / cleans up the master.
"""

import json
import os
import signal
import sys
import threading
import time

import redis
from redis.sentinel import Sentinel

ports = [int(p) for p in sys.argv[1].split(",")]
master_pid = int(sys.argv[2])
how = sys.argv[3] if len(sys.argv) > 3 else "stop"
limit = float(os.environ.get("FAILOVER_LIMIT_SECONDS", "40"))

sentinel = Sentinel([("127.0.0.1", p) for p in ports], socket_timeout=0.5)
before = sentinel.discover_master("mymaster")
replicas = sentinel.discover_slaves("mymaster")
master = sentinel.master_for("mymaster", socket_timeout=0.5, socket_connect_timeout=0.5)
replica = sentinel.slave_for("mymaster", socket_timeout=0.5, socket_connect_timeout=0.5)

master.set("k", "0")
assert master.get("k") == b"0"
# Replicas catch up asynchronously.
read_ok = False
for _ in range(50):
    try:
        if replica.get("k") == b"0":
            read_ok = True
            break
    except redis.exceptions.RedisError:
        pass
    time.sleep(0.1)

def wait_stopped(pid, timeout=2.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            states = []
            for t in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{t}/stat") as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            if states and all(s == "T" for s in states):
                return
        except OSError:
            return
        time.sleep(0.002)


switch_at = []
subscribed = threading.Semaphore(0)


def watch(port):
    s = redis.Redis(port=port, socket_timeout=None)
    p = s.pubsub()
    p.subscribe("+switch-master")
    for m in p.listen():
        if m["type"] == "subscribe":
            subscribed.release()
        elif m["type"] == "message":
            switch_at.append(time.monotonic())
            return


for p in ports:
    threading.Thread(target=watch, args=(p,), daemon=True).start()
# Every watcher's subscription is in place before the master goes away.
for p in ports:
    assert subscribed.acquire(timeout=10), "a +switch-master watcher did not subscribe"

t0 = time.monotonic()
if how == "shutdown":
    try:
        redis.Redis(host=before[0], port=before[1]).shutdown(nosave=True)
    except redis.exceptions.RedisError:
        pass
else:
    os.kill(master_pid, signal.SIGSTOP)
    # kill() returns before every thread of a multi-threaded server has
    # stopped: on a loaded machine a worker thread can still answer a few
    # commands. Wait until all of them are in state T.
    wait_stopped(master_pid)

errors = 0
i = 0
recovered = None
last_error = ""
while time.monotonic() - t0 < limit:
    i += 1
    try:
        master.set("k", str(i))
        if master.get("k") == str(i).encode():
            recovered = time.monotonic() - t0
            break
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
            redis.exceptions.ReadOnlyError) as e:
        errors += 1
        last_error = repr(e)
        time.sleep(0.05)

after = sentinel.discover_master("mymaster") if recovered is not None else None
for _ in range(20):
    if switch_at:
        break
    time.sleep(0.1)
print(json.dumps({
    "before": list(before),
    "after": list(after) if after else None,
    "replicas": [list(r) for r in replicas],
    "replica_read": read_ok,
    "errors": errors,
    "last_error": last_error,
    "switch_seconds": (min(switch_at) - t0) if switch_at else None,
    "write_seconds": recovered,
}))
