"""py-spy profiles of one gunicorn worker and one Celery pool process during a scenario:
collapsed stacks (raw) and the functions that used the most CPU (text).

Only samples of a thread holding the GIL count (`--gil`): a thread waiting on PostgreSQL or
Redis has released it, so the profile shows where Python spends CPU, which is what a
CPU-bound two-core machine runs out of; waiting shows up in the latencies instead."""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil


def _targets(stack: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for name, popen in stack.procs.running:
        role = "web" if name.startswith("web") else "worker" if name.startswith("worker") else None
        if role is None or role in found:
            continue
        children = psutil.Process(popen.pid).children()
        if children:
            found[role] = children[0].pid
    return found


def start(stack: Any, out: Path, scenario: str) -> list[tuple[subprocess.Popen[bytes], Path]]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out.mkdir(parents=True, exist_ok=True)
    started = []
    for role, pid in _targets(stack).items():
        raw = out / f"{scenario}-{role}.txt"
        process = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "200",
                "--gil",
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append((process, raw))
    return started


def stop(started: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    for process, raw in started:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        if raw.exists():
            raw.with_suffix(".top.txt").write_text(top_functions(raw.read_text()))


def top_functions(collapsed: str, count: int = 40) -> str:
    """Self and total samples per function, from py-spy's collapsed stacks."""
    self_samples: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    all_samples = 0
    for line in collapsed.splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        frames = [f.split(" (")[0] + " " + f.split("(")[-1].split(":")[0] for f in stack.split(";")]
        all_samples += int(n)
        self_samples[frames[-1]] += int(n)
        for frame in set(frames):
            total[frame] += int(n)
    lines = [f"{all_samples} samples", "", "total%  self%  function"]
    for frame, n in total.most_common(count):
        lines.append(
            f"{100 * n / all_samples:5.1f}  {100 * self_samples[frame] / all_samples:5.1f}  {frame}"
        )
    return "\n".join(lines) + "\n"
