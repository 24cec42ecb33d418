"""Tasks for celery_jobs.py; the broker/backend URL comes from the environment."""
import os

from celery import Celery

url = os.environ["RSREDIS_URL"]
app = Celery("celery_tasks", broker=url, backend=url)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task
def add(x, y):
    return x + y


@app.task
def concat(a, b):
    return f"{a}-{b}"
