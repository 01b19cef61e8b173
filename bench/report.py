"""Writing a run's results: JSON (everything), a Markdown table (targets vs measured) and
PNG plots (latency over time, queue depth, graded count over time)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen on servers
import matplotlib.pyplot as plt  # noqa: E402

SCENARIO_TITLES = {
    "start": "1. Start",
    "autosave": "2. Autosave",
    "overload": "2b. 3× overload",
    "deadline": "3. Deadline",
    "regrade": "4. Regrade during submissions",
    "polling": "5. Status polling",
}

MEMORY_TARGETS = [
    ("gunicorn_workers", "gunicorn worker", 150),
    ("celery_children", "Celery pool process", 200),
]


def write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    slim = json.loads(json.dumps(results, default=str))
    for scenario in slim["scenarios"].values():  # raw series go to the plots, not the JSON
        scenario.pop("timeline", None)
        scenario.pop("attempts", None)
        scenario.pop("tokens", None)
    (out / "results.json").write_text(json.dumps(slim, indent=2))
    (out / "results.md").write_text(markdown(slim))
    for name, scenario in results["scenarios"].items():
        if scenario.get("timeline"):
            _latency_plot(name, scenario, out / f"{name}-latency.png", results["label"])
        if scenario.get("ticks"):
            _queue_plot(name, scenario, out / f"{name}-queues.png", results["label"])


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"## {results['label']}",
        "",
        f"Machine: {results['machine']}. Scale {results['scale']}. Started {results['started']}.",
        "",
        "| scenario | target | measured | met |",
        "|---|---|---|---|",
    ]
    for name, scenario in results["scenarios"].items():
        for target in scenario.get("targets", []):
            mark = "yes" if target["met"] else "**no**"
            title = SCENARIO_TITLES.get(name, name)
            lines.append(f"| {title} | {target['target']} | {target['measured']} | {mark} |")
    memory = results.get("memory", {})
    for kind, title, limit_mb in MEMORY_TARGETS:
        if memory.get(kind):
            worst_mb = max(memory[kind]) * 2**20 / 1e6
            mark = "yes" if worst_mb <= limit_mb else "**no**"
            lines.append(
                f"| 6. Memory | each {title} ≤ {limit_mb} MB RSS after the run "
                f"| max {worst_mb:.0f} MB over {len(memory[kind])} | {mark} |"
            )
    if memory:
        lines += ["", "| process | resident memory after the run (MiB) |", "|---|---|"]
        for kind, values in memory.items():
            lines.append(f"| {kind} | {', '.join(str(v) for v in values)} |")
    lines += [
        "",
        "CPU used per role (core-seconds; cores = average cores busy):",
        "",
        "| scenario | " + " | ".join(ROLES) + " |",
        "|---" * (len(ROLES) + 1) + "|",
    ]
    for name, scenario in results["scenarios"].items():
        cpu = scenario.get("cpu", {})
        cells = [f"{cpu[r]['cpu_s']} s ({cpu[r]['cores']})" if r in cpu else "–" for r in ROLES]
        lines.append(f"| {SCENARIO_TITLES.get(name, name)} | " + " | ".join(cells) + " |")
    if results.get("ceiling", {}).get("error"):
        lines += ["", f"PostgreSQL ceiling not measured: {results['ceiling']['error']}"]
    elif results.get("ceiling"):
        c = results["ceiling"]
        lines += [
            "",
            f"PostgreSQL ceiling (pgbench running the autosave's own SQL, {c['clients']} clients): "
            f"{c['tps']:.0f} saves/s; our autosave reached {c['ours']:.0f}/s = "
            f"{c['fraction']:.0%} of it.",
        ]
    return "\n".join(lines) + "\n"


ROLES = ["web", "worker", "beat", "postgres", "redis", "loadgen"]


def _latency_plot(name: str, scenario: dict[str, Any], path: Path, label: str) -> None:
    points = scenario["timeline"]
    ok = [(t, ms) for t, ms, status in points if 200 <= status < 400]
    bad = [(t, ms) for t, ms, status in points if not 200 <= status < 400]
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=100)
    if ok:
        ax.scatter(*zip(*ok, strict=True), s=2, alpha=0.35, label="ok")
    if bad:
        ax.scatter(*zip(*bad, strict=True), s=6, color="red", label="error")
    load = scenario.get("load", {})
    for key, style in (("p50_ms", ":"), ("p99_ms", "--")):
        if load.get(key) == load.get(key):  # not NaN
            ax.axhline(
                load[key],
                linestyle=style,
                color="black",
                linewidth=1,
                label=f"{key[:3]} {load[key]} ms",
            )
    ax.set_yscale("log")
    ax.set_xlabel("seconds into the scenario")
    ax.set_ylabel("latency (ms, log)")
    ax.set_title(f"{SCENARIO_TITLES.get(name, name)}: latency over time ({label})")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _queue_plot(name: str, scenario: dict[str, Any], path: Path, label: str) -> None:
    ticks = scenario["ticks"]
    t = [tick["t"] for tick in ticks]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), dpi=100, sharex=True)
    for queue in ticks[0]["queues"] if ticks else []:
        top.plot(t, [tick["queues"][queue] for tick in ticks], label=queue)
    top.set_ylabel("messages waiting")
    top.set_title(f"{SCENARIO_TITLES.get(name, name)}: queue depth and grading ({label})")
    top.legend(fontsize=8)
    bottom.plot(t, [tick["graded"] for tick in ticks], label="graded")
    bottom.plot(t, [tick["submitted"] for tick in ticks], label="submitted, not graded")
    bottom.set_xlabel("seconds into the scenario")
    bottom.set_ylabel("attempts")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":  # re-render a run's Markdown from its JSON: python -m bench.report DIR
    import sys

    folder = Path(sys.argv[1])
    saved = json.loads((folder / "results.json").read_text())
    (folder / "results.md").write_text(markdown(saved))
    print(markdown(saved))
