"""Run the exam-day benchmark against a server-mode stack it starts on this machine.

    make bench                      # every scenario, full scale (about 15 minutes)
    make bench ARGS="--scale 0.1"   # a tenth of every population and rate
    make bench ARGS="--topology embedded --scale 0.02"   # SQLite, as `make run` starts it
    .venv/bin/python -m bench.run --topology scaleout --scenarios start,autosave

Results: bench/results/<label>/results.json, results.md and *.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import ceiling, report, scenarios
from bench.data import Data
from bench.monitor import memory
from bench.stack import TOPOLOGIES, Stack
from shared.config import Settings

RESULTS = Path(__file__).parent / "results"
ORDER = ["start", "autosave", "overload", "deadline", "regrade", "polling"]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{psutil.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}"
    )


def run(
    topology_name: str,
    scale: float,
    selected: list[str],
    autosave_seconds: float,
    profiles: bool,
    web: tuple[int, int] | None = None,
    worker_nice: int = 0,
    server: str = "gunicorn",
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    topology = TOPOLOGIES[topology_name]
    label = f"{topology_name}-scale{scale:g}"
    if server != "gunicorn":
        topology = dataclasses.replace(topology, server=server)
        label += f"-{server}"
    if web:  # another gunicorn layout: workers x threads per API instance
        topology = dataclasses.replace(topology, gunicorn_workers=web[0], gunicorn_threads=web[1])
        label += f"-web{web[0]}x{web[1]}"
    if worker_nice:
        topology = dataclasses.replace(topology, worker_nice=worker_nice)
        label += f"-nice{worker_nice}"
    for name, value in (extra or {}).items():
        label += f"-{name.lower()}-{value.lower()}"
    root = Path(tempfile.mkdtemp(prefix="exam-bench-"))
    stack = Stack(root, topology, extra)
    results: dict[str, Any] = {
        "label": label,
        "topology": topology.__dict__,
        "scale": scale,
        "machine": machine(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenarios": {},
    }
    try:
        stack.start()
        ctx = scenarios.Context(
            stack=stack,
            data=Data(stack),
            scale=scale,
            autosave_seconds=autosave_seconds,
            profile_dir=RESULTS / label / "profiles" if profiles else None,
        )
        previous: dict[str, Any] = {}
        for name in ORDER:
            if name not in selected:
                continue
            began = time.perf_counter()
            print(f"[{label}] {name} ...", flush=True)
            if name in ("regrade", "polling"):
                if "deadline" not in previous:
                    previous["deadline"] = scenarios.deadline(ctx)
                result = getattr(scenarios, name)(ctx, previous["deadline"])
            else:
                result = getattr(scenarios, name)(ctx)
                previous[name] = result
            if name == "autosave":
                result["targets"].append(scenarios.api_cpu_per_save(result))
                if "ceiling" in selected and not topology.embedded:
                    results["ceiling"] = ceiling.measure(stack, result)
                    result["targets"].append(scenarios.ceiling_fraction(results["ceiling"]))
            results["scenarios"][name] = result
            for target in result["targets"]:
                mark = "ok  " if target["met"] else "MISS"
                print(f"    {mark} {target['target']}: {target['measured']}")
            print(f"    ({time.perf_counter() - began:.0f} s)", flush=True)
        results["memory"] = memory(stack)
    except BaseException:
        if stack.procs:
            print(stack.procs.logs(), file=sys.stderr)
        raise
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    report.write(results, RESULTS / label)
    print(f"results: {RESULTS / label}")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of every population and rate"
    )
    parser.add_argument("--topology", choices=[*TOPOLOGIES, "both"], default="single")
    parser.add_argument(
        "--scenarios",
        default=",".join([*ORDER, "ceiling"]),
        help=f"comma-separated, from {', '.join([*ORDER, 'ceiling'])}",
    )
    parser.add_argument("--autosave-seconds", type=float, default=60)
    parser.add_argument("--profile", action="store_true", help="py-spy a web and a worker process")
    parser.add_argument(
        "--web", help="gunicorn layout per API instance, WORKERSxTHREADS (e.g. 4x2)", default=None
    )
    parser.add_argument(
        "--server",
        choices=["gunicorn", "granian"],
        default="gunicorn",
        help="the API's server: the deployment's gunicorn, or granian's WSGI for an A/B",
    )
    parser.add_argument(
        "--worker-nice", type=int, default=0, help="run the Celery workers at this nice level"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every process of the stack (e.g. FAST_LANE=false for an A/B)",
    )
    args = parser.parse_args(argv)
    selected = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    # "both": the two server-mode shapes; the embedded mode is only ever run on its own.
    topologies = ["single", "scaleout"] if args.topology == "both" else [args.topology]
    web = None
    if args.web:
        workers, threads = (int(n) for n in args.web.lower().split("x"))
        web = (workers, threads)
    extra = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or name not in Settings.model_fields:
            parser.error(f"--set {item}: not NAME=VALUE with NAME a setting")
        extra[name] = value
    for topology in topologies:
        run(
            topology,
            args.scale,
            selected,
            args.autosave_seconds,
            args.profile,
            web,
            args.worker_nice,
            args.server,
            extra,
        )


if __name__ == "__main__":
    main()
