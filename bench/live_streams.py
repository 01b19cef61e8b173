"""Proctors' live streams on one API instance while students autosave (issue 15, live view).

    .venv/bin/python -m bench.live_streams [--streams 0,100,250,500] [--seconds 15] [--rounds 2]

One instance as deployed (deploy/gunicorn.conf.py: 2 workers x 4 threads, the asyncio worker)
on a private PostgreSQL and Redis, an exam with 10,000 running attempts. For each number of
streams: open them all on the exam's `/live/stream` (each one a connection, as many proctors'
pages would), then send autosaves at a fixed rate (open loop: latency counts from when a save
was due) for `--seconds` while the streams stay open, noting when every event arrives and the
CPU the gunicorn processes used. Rounds interleave the steps (0, 100, ..., 0, 100, ...), and
the report takes the best round per step: a busy moment of a shared machine spoils one.
Target: the save p99 stays under 250 ms and under twice the p99 with no stream open, and
every stream gets an event at least every 5 s (the contract). "Served" is the largest number
of streams meeting it. Prints target, measured and met, and the API CPU each event costs;
writes bench/results/live_streams.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from sqlalchemy import text

from bench.data import Data, response_for
from bench.load import percentile
from bench.stack import Stack, Topology

ROOT = Path(__file__).resolve().parents[1]
SAVE_P99_MS = 250.0
MAX_GAP_S = 5.0
RUNNING = 10_000


@dataclass
class Stream:
    """One proctor's stream: when each event came (loop time)."""

    arrivals: list[float] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    failed: str | None = None

    def max_gap(self, start: float, end: float) -> float:
        """The longest wait for an event between `start` and `end`."""
        times = [start, *(t for t in self.arrivals if start < t < end), end]
        return max(b - a for a, b in zip(times, times[1:], strict=False))


async def read_stream(http: aiohttp.ClientSession, url: str, token: str, stream: Stream) -> None:
    try:
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
            if response.status != 200:
                stream.failed = f"HTTP {response.status}"
                return
            async for line in response.content:
                if line.startswith(b"event:"):
                    stream.kinds.add(line[6:].strip().decode())
                    stream.arrivals.append(time.perf_counter())
    except (aiohttp.ClientError, TimeoutError) as exc:
        stream.failed = repr(exc)


async def save(http: aiohttp.ClientSession, base: str, target: dict[str, Any], seq: int) -> int:
    answer = {"question_id": target["question"], "response": target["response"], "seq": seq}
    body = {"answers": [answer]}
    headers = {"Authorization": f"Bearer {target['token']}"}
    url = f"{base}/attempts/{target['attempt']}/answers"
    async with http.put(url, json=body, headers=headers) as response:
        await response.read()
        return response.status


async def step(base: str, exam_id: str, admin: str, targets: list[dict[str, Any]],
               streams: int, seconds: float, rate: float, seq0: int,
               web: list[psutil.Process]) -> dict[str, Any]:  # fmt: skip
    """Open `streams` streams, then autosave at `rate`/s for `seconds`; what each saw."""
    url = f"{base}/exams/{exam_id}/live/stream"
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=30)
    proctors = aiohttp.TCPConnector(limit=0)
    students = aiohttp.TCPConnector(limit=256)
    async with (
        aiohttp.ClientSession(connector=proctors, timeout=timeout) as watch,
        aiohttp.ClientSession(connector=students, timeout=aiohttp.ClientTimeout(total=30)) as http,
    ):
        opened = [Stream() for _ in range(streams)]
        readers = []
        for stream in opened:  # a page opened every 5 ms, not all in the same instant
            readers.append(asyncio.create_task(read_stream(watch, url, admin, stream)))
            await asyncio.sleep(0.005)
        deadline = time.perf_counter() + 60
        while any(not s.arrivals and not s.failed for s in opened):
            if time.perf_counter() > deadline:
                break
            await asyncio.sleep(0.1)
        samples: list[tuple[float, int]] = []
        cpu_before = _cpu(web)
        started = time.perf_counter()

        async def one(index: int, due: float) -> None:
            try:
                status = await save(http, base, targets[index % len(targets)], seq0 + index)
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            samples.append((time.perf_counter() - started - due, status))

        tasks = []
        for index in range(int(seconds * rate)):
            due = index / rate
            delay = started + due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, due)))
        await asyncio.gather(*tasks)
        ended = time.perf_counter()
        web_cpu = _cpu(web) - cpu_before
        events = sum(1 for s in opened for t in s.arrivals if started < t < ended)
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    ok = sorted(latency for latency, status in samples if status == 200)
    gaps = sorted(s.max_gap(started, ended) for s in opened if not s.failed)
    return {
        "streams": streams,
        "saves": len(samples),
        "saves_ok": len(ok),
        "save_p50_ms": round(percentile(ok, 50) * 1000, 1),
        "save_p99_ms": round(percentile(ok, 99) * 1000, 1),
        "save_errors": _statuses(status for _, status in samples if status != 200),
        "streams_failed": sum(1 for s in opened if s.failed),
        "stream_max_gap_s": round(gaps[-1], 2) if gaps else None,
        "events": events,
        "seconds": round(ended - started, 1),
        "web_cpu_per_s": round(web_cpu / (ended - started), 3),
        "load_average": round(os.getloadavg()[0], 2),  # others' work on the machine
    }


def event_cost(stack: Stack, exam_id: str, token: str, events: int = 2000) -> float:
    """CPU time (ms) of one event's call through the ASGI layer and the Flask app, in this
    process and one at a time: a figure a busy machine hardly changes, unlike latency."""
    from web import create_app
    from web.serving import BufferedWSGI

    app = BufferedWSGI(create_app(stack.settings), threads=1, max_body=1024)
    scope = {
        "type": "http", "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": f"/api/v1/exams/{exam_id}/live/stream", "query_string": b"", "root_path": "",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip

    async def ticks() -> float:
        for _ in range(50):  # warm: the pool, the cache
            await app.live._tick(scope, first=False)
        began = time.process_time()
        for _ in range(events):
            status, _, _ = await app.live._tick(scope, first=False)
            assert status == 200, status
        return (time.process_time() - began) / events * 1000

    return round(asyncio.run(ticks()), 2)


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def _statuses(statuses: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[str(status)] = counts.get(str(status), 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", default="0,100,250,500,1000")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=100, help="autosaves per second")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the steps, interleaved")
    args = parser.parse_args()
    counts = [int(n) for n in args.streams.split(",")]
    stack = Stack(Path(tempfile.mkdtemp(prefix="bench-live-")), Topology(name="live", workers=[]))
    try:
        stack.start()
        results = run(stack, counts, args.seconds, args.rate, args.rounds)
    finally:
        stack.stop()
    report(results, args.rate)


def run(
    stack: Stack, counts: list[int], seconds: float, rate: float, rounds: int
) -> list[dict[str, Any]]:
    data = Data(stack)
    exam_id, questions = data.exam(question_count=10)
    students = data.users(RUNNING)
    attempts = data.attempts(exam_id, students, questions, answered=False)
    saving = 2000  # distinct students saving, 3 saves a minute each at 100/s
    tokens = data.tokens(students[:saving])
    rng = random.Random(15)
    targets = []
    for i, (attempt, token) in enumerate(zip(attempts[:saving], tokens, strict=True)):
        question = questions[i % len(questions)]
        targets.append({"attempt": str(attempt), "token": token, "question": question["id"],
                        "response": response_for(question, rng)})  # fmt: skip
    admin = data.tokens(data.users(1, role="admin"), role="admin")[0]
    with stack.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would have, after the bulk rows
    base = stack.api_urls[0]
    print(json.dumps({"cpu_ms_per_event_in_process": event_cost(stack, str(exam_id), admin)}))
    # Warm-up, not counted: connections, the pools, the exam payload in the cache.
    web = stack.process_groups()["web"]
    warm = asyncio.run(step(base, str(exam_id), admin, targets, 0, 10, rate, 1, web))
    results, seq = [], warm["saves"] + 1
    for _ in range(rounds):  # rounds interleave, so a busy moment of the machine hits one
        for count in counts:
            args = (base, str(exam_id), admin, targets, count, seconds, rate, seq, web)
            result = asyncio.run(step(*args))
            seq += result["saves"] + 1
            results.append(result)
            print(json.dumps(result))
            time.sleep(2)  # the closed streams' connections go away before the next step
    return results


def report(results: list[dict[str, Any]], rate: float) -> None:
    """Per number of streams, the best of the rounds (the machine may be shared: someone
    else's work only ever makes a round worse); then the largest that met the target."""
    by_count: dict[int, list[dict[str, Any]]] = {}
    for row in results:
        by_count.setdefault(row["streams"], []).append(row)
    best = {n: _best_row(rows) for n, rows in sorted(by_count.items())}
    baseline = best.get(0)
    limit = min(SAVE_P99_MS, 2 * baseline["save_p99_ms"]) if baseline else SAVE_P99_MS
    print(
        f"\nautosaves at {rate:g}/s; target: save p99 < {limit:.0f} ms, an event every "
        f"< {MAX_GAP_S:g} s on every stream; best of {len(results) // len(best)} rounds"
    )
    print(f"{'streams':>8} {'save p50':>9} {'save p99':>9} {'max gap':>8} {'web CPU':>8} "
          f"{'ms CPU/event':>12} {'load':>5}  met")  # fmt: skip
    served = 0
    for count, row in best.items():
        gap = row["stream_max_gap_s"]
        met = row["save_p99_ms"] < limit and row["errors"] == 0 and (gap or 0) < MAX_GAP_S
        served = max(served, count) if met else served
        extra = row["web_cpu_per_s"] - (baseline["web_cpu_per_s"] if baseline else 0)
        per_event = extra / (row["events"] / row["seconds"]) * 1000 if row["events"] else None
        row["cpu_ms_per_event"] = round(per_event, 2) if per_event is not None else None
        print(f"{count:>8} {row['save_p50_ms']:>7.1f}ms {row['save_p99_ms']:>7.1f}ms "
              f"{gap if gap is not None else '-':>7}s {row['web_cpu_per_s']:>7.2f}s "
              f"{per_event if per_event is not None else float('nan'):>12.2f} "
              f"{row['load_average']:>5.1f}  {'yes' if met else 'NO'}")  # fmt: skip
    print(f"streams one instance serves (largest that met the target): {served}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    summary = {"rate": rate, "served": served, "bests": best, "runs": results}
    (out / "live_streams.json").write_text(json.dumps(summary, indent=2))


def _best_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    best = min(rows, key=lambda r: (r["saves_ok"] < r["saves"] or r["streams_failed"] > 0,
                                    r["save_p99_ms"]))  # fmt: skip
    errors = best["saves"] - best["saves_ok"] + best["streams_failed"]
    return {**best, "errors": errors}


if __name__ == "__main__":
    main()
