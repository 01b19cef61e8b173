"""gunicorn settings for the API (used by the Procfile and the Docker image)."""

import os
import shutil

import gunicorn

from shared.config import get_settings

# Validate the configuration in the master, before forking: a bad setting stops start-up
# with one clear message instead of a crash loop in every worker.
settings = get_settings()

bind = os.environ.get("API_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads that run the app, per worker. The worker reads every request whole on an event loop
# first (web/serving.py), so a client sending its headers a byte a second holds no thread;
# GUNICORN_WORKER_CLASS=gthread is gunicorn's plain threaded worker, which it would.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "web.serving.BufferedWSGIWorker")
asgi_loop = "asyncio"  # the same loop whether or not uvloop happens to be installed
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = 20000
max_requests_jitter = 2000
accesslog = None  # the app logs one structured line per request itself
gunicorn.SERVER = "exam-api"  # no version in the Server header

# Every worker writes its metrics to files here; /metrics merges them. This must be set
# before prometheus_client is first imported, in this process and in every worker.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", str(settings.VAR_DIR / "prometheus")
)


def on_starting(server):  # noqa: ARG001
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):  # noqa: ARG001
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
