"""The alerts and the exam-day dashboard: promtool checks and unit-tests the rules, and every
metric they name is one the API's /metrics or the worker's exporter really serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "exam-day.json"
# Alerts on absence and time need no exported series of their own.
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "inf", "nan",
}  # fmt: skip


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, (
        "promtool is missing: `bash tests/support/ensure-test-deps.sh` installs Debian's "
        "prometheus package, which has it"
    )
    return subprocess.run(
        [binary, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60
    )


def test_promtool_accepts_the_rules_and_the_example_config():
    for args in (("check", "rules", "alerts.yml"), ("check", "config", "prometheus.yml")):
        result = promtool(*args)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_alerts_fire_on_their_unit_test_data():
    result = promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def alerts() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_every_alert_has_a_severity_summary_and_runbook():
    for rule in alerts():
        assert rule["labels"]["severity"] in ("page", "warning"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["runbook"].startswith("docs/operations.md#"), rule["alert"]


def test_the_required_alerts_are_unit_tested():
    tested = {
        case["alertname"]
        for group in yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())["tests"]
        for case in group["alert_rule_test"]
        if case.get("exp_alerts")
    }
    required = {
        "ExamApiErrorRate",
        "ExamAutosaveSlow",
        "ExamGradingBacklogGrowing",
        "ExamQueuedTaskOld",
        "ExamBeatHeartbeatMissing",
        "ExamWorkerDown",
    }
    assert required <= tested


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects (strings, label matchers, groupings,
    ranges and functions removed)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\$\w+", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)\s*(\()?", expr):
        name, call = match.groups()
        if not call and name.lower() not in PROMQL_WORDS:
            names.add(name)
    return names


def exported(text: str) -> set[str]:
    """Series names a scrape serves, from its TYPE lines (a family with no samples yet
    still says what it will serve)."""
    suffixes = {
        "histogram": ("_bucket", "_sum", "_count"),
        "summary": ("", "_sum", "_count"),
    }
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.M):
        names.update(name + suffix for suffix in suffixes.get(kind, ("",)))
    return names


@pytest.fixture
def served(client) -> set[str]:
    from worker.metrics import WorkerMetrics

    registry = CollectorRegistry()
    WorkerMetrics(registry)  # what the worker's exporter serves (tests/e2e scrape it too)
    return exported(client.get("/metrics").get_data(as_text=True)) | exported(
        generate_latest(registry).decode()
    )


def test_metric_names_are_parsed_out_of_promql():
    assert metric_names(
        'histogram_quantile(0.95, sum by (le) (rate(x_bucket{a="b{c}"}[5m]))) > 0.1 '
        "and time() - max without (instance) (y_seconds) > 3 or absent(z)"
    ) == {"x_bucket", "y_seconds", "z"}


def test_every_metric_the_alerts_use_is_exported(served):
    used = {name for rule in alerts() for name in metric_names(rule["expr"])}
    assert used and used <= served, sorted(used - served)


def test_the_dashboard_is_valid_json_over_exported_metrics(served):
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "exam-day" and dashboard["panels"]
    used: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["title"] and panel["targets"], panel
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, target["expr"]
            used |= names
    assert used <= served, sorted(used - served)
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("autosave", "5xx", "starts", "submits", "grading", "queue", "workers", "shed"):
        assert topic in titles, topic


def test_the_routes_they_name_are_route_templates_of_the_app(app):
    exprs = [rule["expr"] for rule in alerts()] + [
        target["expr"]
        for panel in json.loads(DASHBOARD.read_text())["panels"]
        for target in panel["targets"]
    ]
    named = {route for expr in exprs for route in re.findall(r'endpoint="([^"]+)"', expr)}
    assert named and named <= {rule.rule for rule in app.url_map.iter_rules()}, named


def test_every_runbook_points_at_a_section_of_the_operations_guide():
    guide = (ROOT / "docs" / "operations.md").read_text()
    anchors = {
        re.sub(r"[^\w -]", "", heading).strip().lower().replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", guide, flags=re.M)
    }
    for rule in alerts():
        anchor = rule["annotations"]["runbook"].split("#", 1)[1].split(":", 1)[0]
        assert anchor in anchors, (rule["alert"], anchor)
