"""docker-compose.yml runs the same commands as the Procfile behind `make run`, behind nginx;
Flower is loopback-only under `make run` and password-protected in compose."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# Where a process listens is the one thing meant to differ: loopback on a laptop, every
# interface inside a container (where the published port decides who reaches it).
LISTEN_OPTIONS = ("--address=",)


def _services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def _procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = shlex.split(command)
    return entries


def _fixed_prefix(tokens: list[str]) -> list[str]:
    """The command up to its first environment-dependent token, without listen addresses."""
    prefix = []
    for token in tokens:
        if "$" in token:
            break
        prefix.append(token)
    return _without_listen(prefix)


def _without_listen(tokens: list[str]) -> list[str]:
    return [t for t in tokens if not t.startswith(LISTEN_OPTIONS)]


def test_every_procfile_process_is_a_compose_service_with_the_same_command():
    services = _services()
    procfile = _procfile()
    assert set(procfile) == {"web", "worker", "beat", "flower"}
    for name, tokens in procfile.items():
        compose = _without_listen(services[name]["command"])
        prefix = _fixed_prefix(tokens)
        assert compose[: len(prefix)] == prefix, (name, compose, prefix)


def test_compose_migrates_before_the_app_starts():
    services = _services()
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    for name in ("web", "worker", "beat", "flower"):
        assert (
            services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        )


def test_make_run_binds_flower_and_the_api_to_loopback_only():
    flower = _procfile()["flower"]
    addresses = [t.removeprefix("--address=") for t in flower if t.startswith("--address=")]
    assert addresses == ["127.0.0.1"]  # literal: no variable can open it to the network
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^API_BIND \?= 127\.0\.0\.1:", makefile, re.MULTILINE)
    assert "FLOWER_ADDRESS" not in makefile


def test_compose_flower_asks_for_a_password_and_publishes_on_loopback():
    flower = _services()["flower"]
    # Required (compose refuses to start without it); Flower reads FLOWER_* as its options.
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert flower["ports"] == ["127.0.0.1:5555:5555"]


def test_compose_clients_reach_the_api_only_through_nginx():
    services = _services()
    web, nginx = services["web"], services["nginx"]
    assert "ports" not in web
    assert web["environment"]["PROXY_FIX_X_FOR"] == 1  # nginx is the one trusted proxy
    assert nginx["ports"] == ["8000:8000"]
    image, _, tag = nginx["image"].partition(":")
    assert image == "nginx" and re.fullmatch(r"\d+\.\d+\.\d+(-alpine)?", tag), tag
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert nginx["depends_on"]["web"]["condition"] == "service_healthy"


def _directive(conf: str, name: str) -> list[str]:
    """The values of one nginx directive, in file order (blocks are not directives)."""
    return re.findall(rf"^[ \t]*{name}[ \t]+([^;{{\n]+);", conf, re.MULTILINE)


def test_nginx_buffers_requests_and_responses_and_times_out_slow_clients():
    from shared.config import Settings

    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert _directive(conf, "server") == ["web:8000"]
    assert _directive(conf, "listen") == ["8000"]
    assert _directive(conf, "proxy_request_buffering") == ["on"]
    assert "on" in _directive(conf, "proxy_buffering")
    for timeout in ("client_header_timeout", "client_body_timeout"):
        (value,) = _directive(conf, timeout)
        assert 1 <= int(value.removesuffix("s")) <= 30, (timeout, value)
    assert _directive(conf, "proxy_set_header")[:4] == [
        'Connection ""',
        "Host $http_host",
        "X-Forwarded-For $proxy_add_x_forwarded_for",
        "X-Forwarded-Proto $scheme",
    ]
    # The body limit is the app's MAX_CONTENT_LENGTH.
    (size,) = _directive(conf, "client_max_body_size")
    assert (
        int(size.removesuffix("m")) * 2**20 == Settings.model_fields["MAX_CONTENT_LENGTH"].default
    )
    # Server-sent events are passed on unbuffered.
    stream = conf.split("live/stream", 1)[1].split("}", 1)[0]
    assert "proxy_buffering off;" in stream
