"""Slow clients (slowloris): 200 connections that send their headers a byte a second, held for
15 s, while students' normal requests must all be answered, p99 under 1 s. Against the API as
`make run` starts it, and against docker compose's shape: nginx with deploy/nginx.conf in
front of gunicorn. Real processes, embedded mode, loopback only (docs/reliability.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.support import streaming_app
from tests.support.http import answers
from tests.support.processes import BIN, ROOT, Processes, fresh_env, wait_until
from tests.support.servers import free_port
from tests.support.slow_clients import Attack, Probes, SlowClients, probe

pytestmark = pytest.mark.e2e

SLOW_CLIENTS = 200
ATTACK_SECONDS = 15
PASSWORD = "a-long-password"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Processes]:
    """A migrated embedded-mode var/ with one admin; processes started on it are stopped."""
    env = fresh_env(
        tmp_path / "var",
        PATH=f"{BIN}:{os.environ.get('PATH', '')}",  # as `make run` sets it
        LOG_LEVEL="WARNING",
        PASSWORD_HASH_TIME_COST="1",
        PASSWORD_HASH_MEMORY_KIB="1024",
    )
    for command in (
        ["alembic", "upgrade", "head"],
        ["flask", "--app", "web", "create-user", "--email", "head@school.test",
         "--password", PASSWORD, "--role", "admin"],
    ):  # fmt: skip
        done = subprocess.run(
            [BIN / command[0], *command[1:]], cwd=ROOT, env=env, capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr.decode()
    procs = Processes(tmp_path, env)
    try:
        yield procs
    finally:
        procs.stop_all()


def healthy(base: str) -> bool:
    return answers(f"{base}/healthz")


def wait_for_api(base: str, procs: Processes) -> str:
    """Waits until the API answers; returns an admin's access token."""
    try:
        wait_until(lambda: healthy(base), 60, f"the API at {base}", interval=0.3)
    except AssertionError:
        raise AssertionError(procs.logs()) from None
    login = requests.post(
        f"{base}/api/v1/auth/login",
        json={"email": "head@school.test", "password": PASSWORD},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    return login.json()["access_token"]


def attack(
    port: int, base: str, token: str, seconds: float = ATTACK_SECONDS
) -> tuple[Probes, Attack]:
    """Holds the slow clients on `port` while a student-like client calls `base`."""
    auth = {"Authorization": f"Bearer {token}"}
    normal = {
        "healthz": lambda: requests.get(f"{base}/healthz", timeout=5),
        "me": lambda: requests.get(f"{base}/api/v1/auth/me", headers=auth, timeout=5),
    }
    with SlowClients("127.0.0.1", port, count=SLOW_CLIENTS, duration=seconds) as slow:
        slow.wait_until_held()
        probes = probe(normal, duration=seconds - 3)
    print(f"slow clients {slow.attack}; normal requests: {probes.summary()}")
    return probes, slow.attack


def assert_unharmed(probes: Probes, slow: Attack) -> None:
    assert max(slow.held) == SLOW_CLIENTS  # the attack really held its connections
    assert len(probes.all) >= 20
    assert probes.unanswered == 0, probes.summary()
    assert probes.p99() < 1.0, probes.summary()


def test_make_run_answers_everyone_while_200_clients_trickle_their_headers(embedded):
    api = free_port()
    # The web process exactly as `make run` starts it: the Procfile's line under honcho.
    embedded.start("web", "python", "deploy/supervise.py", "web", API_BIND=f"127.0.0.1:{api}")
    base = f"http://127.0.0.1:{api}"
    token = wait_for_api(base, embedded)

    probes, slow = attack(api, base, token)

    assert_unharmed(probes, slow)


def test_gunicorn_threads_alone_stall_under_the_same_attack(embedded):
    """The attack is real: gunicorn's threaded worker, reached directly, stops answering."""
    api = free_port()
    embedded.start("web", "gunicorn", "-c", "deploy/gunicorn.conf.py", "web:create_app()",
                   API_BIND=f"127.0.0.1:{api}", GUNICORN_WORKER_CLASS="gthread")  # fmt: skip
    base = f"http://127.0.0.1:{api}"
    token = wait_for_api(base, embedded)

    probes, _ = attack(api, base, token, seconds=10)

    assert probes.unanswered > 0 or probes.p99() >= 1.0, probes.summary()


class Nginx:
    """nginx with the repo's deploy/nginx.conf, moved to loopback ports and a private dir."""

    def __init__(self, procs: Processes, upstream: int) -> None:
        # Its own directory: pytest's are private to root and nginx's workers are not root.
        self.root = Path(tempfile.mkdtemp(prefix="exam-nginx-"))
        self.root.chmod(0o755)
        self.port = free_port()
        conf = (ROOT / "deploy" / "nginx.conf").read_text()
        temp = "".join(
            f"\n    {kind}_temp_path {self.root / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        swaps = {
            "server web:8000;": f"server 127.0.0.1:{upstream};",
            "listen 8000;": f"listen 127.0.0.1:{self.port};",
            "access_log /dev/stdout front;": f"access_log {self.root / 'access.log'} front;",
            "http {": "http {" + temp,
        }
        for old, new in swaps.items():
            assert conf.count(old) == 1, f"deploy/nginx.conf no longer has {old!r} once"
            conf = conf.replace(old, new)
        (self.root / "nginx.conf").write_text(conf)
        self.process = procs.start(
            "nginx", NGINX, "-p", str(self.root), "-c", str(self.root / "nginx.conf"),
            "-e", str(self.root / "error.log"), "-g", f"daemon off; pid {self.root / 'nginx.pid'};",
        )  # fmt: skip
        self.procs = procs

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.procs.stop(self.process)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def nginx_in_front(embedded: Processes) -> Iterator[Callable[..., Nginx]]:
    """Starts gunicorn with `app` and nginx in front of it, as docker compose does."""
    if not os.path.exists(NGINX):
        pytest.fail(
            "nginx is not installed: make test installs it (tests/support/ensure-test-deps.sh)"
        )
    upstream = free_port()
    front: list[Nginx] = []

    def start(app: str = "web:create_app()", **env: str) -> Nginx:
        embedded.start("web", "gunicorn", "-c", "deploy/gunicorn.conf.py", app,
                       API_BIND=f"127.0.0.1:{upstream}", PROXY_FIX_X_FOR="1", **env)  # fmt: skip
        front.append(Nginx(embedded, upstream))
        return front[-1]

    try:
        yield start
    finally:
        for nginx in front:
            nginx.stop()


def test_nginx_front_answers_everyone_while_200_clients_trickle_their_headers(nginx_in_front):
    # Behind it the weakest app server, gunicorn's threads, which alone stall (above): the
    # front is what protects it.
    nginx = nginx_in_front(GUNICORN_WORKER_CLASS="gthread")
    token = wait_for_api(nginx.base, nginx.procs)

    probes, slow = attack(nginx.port, nginx.base, token)

    assert_unharmed(probes, slow)
    # nginx closed every trickling connection after its client_header_timeout (10 s).
    assert slow.cut_off >= SLOW_CLIENTS, slow


def event_arrivals(url: str) -> list[float]:
    """When each server-sent event arrived, in seconds after the response began."""
    with requests.get(url, stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        started, arrivals = time.monotonic(), []
        for line in response.iter_lines(chunk_size=1):
            if line.startswith(b"data:"):
                arrivals.append(time.monotonic() - started)
    assert len(arrivals) == streaming_app.EVENTS
    return arrivals


STREAM_SPREAD = (streaming_app.EVENTS - 1) * streaming_app.PAUSE  # 1.5 s from first to last


def test_server_sent_events_still_stream_from_the_make_run_server(embedded):
    api = free_port()
    embedded.start("web", "gunicorn", "-c", "deploy/gunicorn.conf.py",
                   "tests.support.streaming_app:app", API_BIND=f"127.0.0.1:{api}")  # fmt: skip
    base = f"http://127.0.0.1:{api}"
    wait_until(lambda: healthy(base), 60, "the streaming app", interval=0.3)

    arrivals = event_arrivals(f"{base}/api/v1/exams/e1/live/stream")

    assert arrivals[-1] - arrivals[0] >= STREAM_SPREAD * 0.8, arrivals  # one by one


def test_nginx_passes_server_sent_events_unbuffered(nginx_in_front):
    nginx = nginx_in_front(app="tests.support.streaming_app:app")
    wait_until(lambda: healthy(nginx.base), 60, "nginx and the streaming app", interval=0.3)

    streamed = event_arrivals(f"{nginx.base}/api/v1/exams/e1/live/stream")

    assert streamed[-1] - streamed[0] >= STREAM_SPREAD * 0.8, streamed
