"""docker-compose.yml runs the same commands as the Procfile behind `make run`."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = shlex.split(command)
    return entries


def _fixed_prefix(tokens: list[str]) -> list[str]:
    """The command up to its first environment-dependent token."""
    prefix = []
    for token in tokens:
        if "$" in token:
            break
        prefix.append(token)
    return prefix


def test_every_procfile_process_is_a_compose_service_with_the_same_command():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    procfile = _procfile()
    assert set(procfile) == {"web", "worker", "beat", "flower"}
    for name, tokens in procfile.items():
        compose = services[name]["command"]
        prefix = _fixed_prefix(tokens)
        assert compose[: len(prefix)] == prefix, (name, compose, prefix)


def test_compose_migrates_before_the_app_starts():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    for name in ("web", "worker", "beat", "flower"):
        assert (
            services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        )
