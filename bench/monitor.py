"""What the benchmark watches while it runs: queue depths, attempts by status, CPU and
memory of every process of the stack."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psutil
import redis
from sqlalchemy import func, select

from shared.messaging import ALL_QUEUES, create_celery
from shared.models import Attempt
from shared.services.monitoring import queue_depths


@dataclass
class Tick:
    t: float
    queues: dict[str, int]
    graded: int
    submitted: int


@dataclass
class Monitor:
    """Samples twice a second in a thread, from when it starts until it stops."""

    stack: Any
    interval: float = 0.5
    ticks: list[Tick] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        settings = self.stack.settings
        # Redis: LLEN is the cheapest look; the SQL broker is asked through Celery itself.
        self._broker = redis.Redis.from_url(settings.broker_url) if settings.REDIS_URL else None
        self._celery = None if self._broker else create_celery(settings)
        self.started = 0.0

    def __enter__(self) -> Monitor:
        self.started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.ticks.append(self.sample())
            self._stop.wait(self.interval)

    def sample(self) -> Tick:
        if self._broker:
            queues = {q: self._broker.llen(q) for q in ALL_QUEUES}
        else:
            queues = queue_depths(self._celery)
        with self.stack.engine.connect() as conn:
            counts = dict(
                conn.execute(select(Attempt.status, func.count()).group_by(Attempt.status)).all()
            )
        return Tick(
            t=time.perf_counter() - self.started,
            queues=queues,
            graded=counts.get("graded", 0),
            submitted=counts.get("submitted", 0),
        )


class CpuMeter:
    """CPU (user + system) used by each role's processes while it runs, sampled per process
    twice a second: gunicorn recycles workers and a pool's PostgreSQL backends come and go,
    so a process's CPU must be counted before it exits (at most one interval is missed)."""

    def __init__(self, stack: Any, interval: float = 0.5) -> None:
        self.stack, self.interval = stack, interval
        self.used: dict[str, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CpuMeter:
        self._sample(count=False)  # what each process used before: not ours
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self, count: bool = True) -> None:
        for role, processes in self.stack.process_groups().items():
            self.used.setdefault(role, 0.0)
            for process in processes:
                try:
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                total = times.user + times.system
                if count:
                    self.used[role] += max(0.0, total - self._last.get(process.pid, 0.0))
                self._last[process.pid] = total


def cpu_used(used: dict[str, float], wall: float) -> dict[str, Any]:
    """CPU seconds per role, and as a share of the machine's cores."""
    cores = psutil.cpu_count() or 1
    out: dict[str, Any] = {}
    for role, seconds in used.items():
        out[role] = {"cpu_s": round(seconds, 1), "cores": round(seconds / wall, 2) if wall else 0}
    out["machine_cores"] = cores
    return out


def memory(stack: Any) -> dict[str, list[float]]:
    """Resident memory (MiB) of each gunicorn worker and each Celery pool process."""
    result: dict[str, list[float]] = {
        "gunicorn_workers": [],
        "celery_children": [],
        "celery_main": [],
    }
    for name, popen in stack.procs.running:
        try:
            parent = psutil.Process(popen.pid)
            children = parent.children()
        except psutil.Error:
            continue
        if name.startswith("web"):
            result["gunicorn_workers"] += [c.memory_info().rss / 2**20 for c in children]
        elif name.startswith("worker"):
            result["celery_main"].append(parent.memory_info().rss / 2**20)
            result["celery_children"] += [c.memory_info().rss / 2**20 for c in children]
    return {k: [round(v, 1) for v in values] for k, values in result.items()}
