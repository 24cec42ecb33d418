"""Enqueue 500 jobs with rq against rsredis, run a real `rq worker` process
in burst mode, and check every result read back (rq >= 1.12 keeps results
in a Redis Stream per job: XADD, XREVRANGE, XRANGE)."""
import argparse
import os
import subprocess
import sys
import time

import redis
import rq
from rq import Queue
from rq.job import Job

import rq_tasks

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
args = ap.parse_args()
url = f"redis://127.0.0.1:{args.port}/0"
conn = redis.Redis.from_url(url)
q = Queue("default", connection=conn)

jobs = []
N = 500
for i in range(N):
    if i % 2:
        jobs.append(q.enqueue(rq_tasks.add, i, 1000))
    else:
        jobs.append(q.enqueue(rq_tasks.concat, "job", i))
assert len(q) == N, f"queue length {len(q)}"

env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))
start = time.time()
worker = subprocess.run(
    [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", url, "default"],
    env=env,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    timeout=300,
)
elapsed = time.time() - start
out = worker.stdout.decode(errors="replace")
if worker.returncode != 0:
    print(out[-4000:])
    sys.exit(f"rq worker exited with {worker.returncode}")

failed = []
for i, j in enumerate(jobs):
    job = Job.fetch(j.id, connection=conn)
    status = job.get_status()
    expect = i + 1000 if i % 2 else f"job-{i}"
    # rq >= 1.12 has return_value(); older releases keep the result on the job.
    value = job.return_value() if callable(getattr(job, "return_value", None)) else job.result
    # The stream of results: exactly one successful result per job.
    results = job.results() if callable(getattr(job, "results", None)) else [value]
    if status != "finished" or value != expect or len(results) != 1:
        failed.append((i, status, value, len(results), job.exc_info))
if failed:
    print(out[-4000:])
    sys.exit(f"{len(failed)} jobs not finished correctly, first: {failed[:3]}")
assert len(q) == 0
print(f"rq {rq.__version__}: {N} jobs enqueued and run by a real worker in {elapsed:.1f}s, all results correct")
