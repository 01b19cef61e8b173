"""`make run` on a machine with nothing configured: the whole system comes up, works, and
stops on Ctrl-C. Real processes (gunicorn, Celery worker and beat, Flower) in embedded mode."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.processes import fresh_env

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what} (last error: {last})")


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def test_make_run_starts_everything_and_ctrl_c_stops_it(tmp_path):
    api, flower = f"127.0.0.1:{free_port()}", free_port()
    var_dir = tmp_path / "var"
    env = fresh_env(var_dir, API_BIND=api, FLOWER_PORT=str(flower))
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://{api}"
    started = time.monotonic()
    processes: set[int] = set()
    try:
        wait_for(
            lambda: requests.get(f"{base}/readyz", timeout=5).status_code == 200, 60, "/readyz"
        )
        assert time.monotonic() - started < 60
        assert (var_dir / "exam.sqlite").exists() and (var_dir / "celery-broker.sqlite").exists()
        processes = descendants(proc.pid)

        # An admin created with the CLI logs in over HTTP.
        created = subprocess.run(
            [
                BIN / "flask",
                "--app",
                "web",
                "create-user",
                "--email",
                "head@school.test",
                "--password",
                "a-long-password",
                "--role",
                "admin",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr
        login = requests.post(
            f"{base}/api/v1/auth/login",
            json={"email": "head@school.test", "password": "a-long-password"},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        me = requests.get(
            f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert me.json()["role"] == "admin"

        # A task makes the round trip through the SQL broker and the real worker.
        ping = subprocess.run(
            [
                BIN / "python",
                "-c",
                "from shared.config import get_settings;"
                "from shared.messaging import create_celery;"
                "print(create_celery(get_settings()).send_task('ops.ping').get(timeout=30))",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ping.stdout.strip() == "pong", ping.stderr

        # Flower sees the worker through its events (the SQL broker's topic routing).
        def worker_online() -> bool:
            body = requests.get(f"http://127.0.0.1:{flower}/workers?json=1", timeout=5).json()
            rows = body.get("data", body)
            names = [row.get("hostname") for row in rows] if isinstance(rows, list) else list(rows)
            return any(name and name.startswith("worker@") for name in names)

        wait_for(worker_online, 45, "Flower to list the worker")

        # Docs render with no internet: the page and its assets come from this server.
        docs = requests.get(f"{base}/api/docs", timeout=10)
        assert docs.status_code == 200
        for asset in re.findall(r'(?:src|href)="(/[^"]+)"', docs.text):
            assert requests.get(base + asset, timeout=10).status_code == 200, asset

        # Metrics add up across both gunicorn workers.
        for _ in range(30):
            health = requests.get(f"{base}/healthz", timeout=5)
            assert health.status_code == 200
            assert health.headers["Server"] == "exam-api"  # no product version to fingerprint
        metrics = requests.get(f"{base}/metrics", timeout=5).text
        counted = sum(
            float(value)
            for value in re.findall(
                r'http_requests_total\{endpoint="/healthz",method="GET",status="200"\} (\S+)',
                metrics,
            )
        )
        assert counted == 30
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        try:
            proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        finally:
            log.close()
    print((tmp_path / "run.log").read_text()[-3000:])
    survivors = [pid for pid in processes if alive(pid)]
    assert survivors == [], f"still running after Ctrl-C: {survivors}"
    output = (tmp_path / "run.log").read_text()
    assert f"http://{api}/api/v1" in output and f"http://127.0.0.1:{flower}" in output
    assert "create-user" in output
    for name in ("web", "worker", "beat", "flower"):
        assert re.search(rf"{name}\.1 +\| ", output), f"{name} never started"
