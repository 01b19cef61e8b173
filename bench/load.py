"""An open-loop HTTP load generator: asyncio + aiohttp (with uvloop), cheap in CPU.

Requests are sent on a fixed schedule whatever the server does, and latency is measured
from the time a request was *due*, so a slow server can't hide its slowness by making the
generator wait (no coordinated omission)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is in the bench extras
    uvloop = None


@dataclass
class Sample:
    due: float  # seconds since the run started
    latency: float  # seconds from due to the response's last byte
    status: int  # HTTP status, or 0 for a transport error


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    @property
    def duration(self) -> float:
        return self.finished - self.started

    def latencies(self, ok_only: bool = True) -> list[float]:
        return sorted(s.latency for s in self.samples if not ok_only or 200 <= s.status < 400)

    def errors(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for sample in self.samples:
            if not 200 <= sample.status < 400:
                counts[sample.status] = counts.get(sample.status, 0) + 1
        return counts


# A request: given the aiohttp session and the request's index, send it and return the status.
Request = Callable[[aiohttp.ClientSession, int], Awaitable[int]]


async def _open_loop(request: Request, count: int, rate: float, connections: int) -> Run:
    run = Run()
    connector = aiohttp.TCPConnector(limit=connections, ttl_dns_cache=300)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        run.started = time.perf_counter()

        async def one(index: int, due: float) -> None:
            try:
                status = await request(session, index)
            except (TimeoutError, aiohttp.ClientError):
                status = 0
            run.samples.append(
                Sample(due=due, latency=time.perf_counter() - run.started - due, status=status)
            )

        tasks = []
        for index in range(count):
            due = index / rate
            delay = run.started + due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, due)))
        await asyncio.gather(*tasks)
        run.finished = time.perf_counter()
    return run


def open_loop(request: Request, *, count: int, rate: float, connections: int = 512) -> Run:
    """Send `count` requests at `rate` per second; returns every sample."""
    if uvloop is not None:
        return uvloop.run(_open_loop(request, count, rate, connections))
    return asyncio.run(_open_loop(request, count, rate, connections))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))
    return values[index]


def summary(run: Run) -> dict[str, Any]:
    ok = run.latencies()
    return {
        "requests": len(run.samples),
        "ok": len(ok),
        "errors": run.errors(),
        "duration_s": round(run.duration, 2),
        "throughput_per_s": round(len(ok) / run.duration, 1) if run.duration else 0,
        "p50_ms": round(percentile(ok, 50) * 1000, 1),
        "p95_ms": round(percentile(ok, 95) * 1000, 1),
        "p99_ms": round(percentile(ok, 99) * 1000, 1),
        "max_ms": round(ok[-1] * 1000, 1) if ok else None,
    }
