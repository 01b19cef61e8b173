"""Flower as docker compose configures it asks for FLOWER_BASIC_AUTH's password (a real
Flower process, listening on loopback here instead of the container's every interface)."""

from __future__ import annotations

import pytest
import requests
import yaml

from tests.support.http import answers
from tests.support.processes import ROOT, wait_until
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

CREDENTIALS = ("proctor", "a-long-flower-password")


def compose_flower_command(port: int) -> list[str]:
    """compose's Flower command, on 127.0.0.1:port."""
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["flower"]
    assert "FLOWER_BASIC_AUTH" in service["environment"]
    command = []
    for token in service["command"]:
        if token.startswith("--address="):
            token = "--address=127.0.0.1"
        elif token.startswith("--port="):
            token = f"--port={port}"
        command.append(token)
    assert command[:4] == ["celery", "-A", "worker", "flower"], command
    return command


def test_compose_flower_refuses_requests_without_the_password(processes):
    port = free_port()
    processes.start(
        "flower", *compose_flower_command(port), FLOWER_BASIC_AUTH=":".join(CREDENTIALS)
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: answers(f"{base}/healthcheck"), 60, "Flower"
        )  # compose's health check needs no password
    except AssertionError:
        raise AssertionError(processes.logs()) from None

    for path in ("/", "/workers", "/api/workers", "/api/tasks", "/broker"):
        anonymous = requests.get(base + path, timeout=10)
        assert anonymous.status_code == 401, path
        wrong = requests.get(base + path, auth=(CREDENTIALS[0], "guess"), timeout=10)
        assert wrong.status_code == 401, path
    # A browser opening the dashboard is asked for the password.
    assert requests.get(base, timeout=10).headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(f"{base}/", auth=CREDENTIALS, timeout=10).status_code == 200
    assert requests.get(f"{base}/api/workers", auth=CREDENTIALS, timeout=10).status_code == 200
