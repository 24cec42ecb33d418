"""Run a real Celery worker (Redis broker and Redis result backend) against
rsredis: send 200 tasks, read every result back through the backend
(pub/sub + GET of celery-task-meta-*), then stop the worker."""
import argparse
import os
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
args = ap.parse_args()
url = f"redis://127.0.0.1:{args.port}/0"
os.environ["RSREDIS_URL"] = url
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import celery_tasks  # noqa: E402

env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))
worker = subprocess.Popen(
    [sys.executable, "-m", "celery", "-A", "celery_tasks", "worker",
     "--pool", "threads", "--concurrency", "4", "--loglevel", "INFO",
     "--without-gossip", "--without-mingle", "--without-heartbeat"],
    env=env,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
)
try:
    N = 200
    start = time.time()
    results = []
    for i in range(N):
        if i % 2:
            results.append(celery_tasks.add.delay(i, 1000))
        else:
            results.append(celery_tasks.concat.delay("task", i))
    failed = []
    for i, r in enumerate(results):
        expect = i + 1000 if i % 2 else f"task-{i}"
        try:
            got = r.get(timeout=60)
        except Exception as e:  # noqa: BLE001
            failed.append((i, repr(e)))
            continue
        if got != expect or r.status != "SUCCESS":
            failed.append((i, got, r.status))
    elapsed = time.time() - start
    if failed:
        sys.exit(f"{len(failed)} tasks failed, first: {failed[:5]}")
    print(f"celery: {N} tasks done and read back in {elapsed:.2f}s")
finally:
    worker.terminate()
    try:
        out, _ = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        out, _ = worker.communicate()
    text = out.decode(errors="replace")
    if "Traceback" in text or "ERROR" in text:
        print(text[-4000:])
