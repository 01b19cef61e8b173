"""The image and its dependencies, checked statically (no Docker engine needed): a
multi-stage build from pinned bases that installs exactly the lock files, as non-root;
`make test` installs the same pins; compose pulls pinned images."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DIGEST = r"@sha256:[0-9a-f]{64}"


def _dockerfile() -> str:
    return (ROOT / "deploy" / "Dockerfile").read_text()


def _stages() -> list[tuple[str, str, str]]:
    """(base, stage name, body) per FROM, with ARG defaults substituted."""
    text = _dockerfile()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.MULTILINE))
    parts = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    stages = []
    for part in parts:
        line, _, body = part.partition("\n")
        base, _, name = line.partition(" AS ")
        base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base.strip())
        stages.append((base, name.strip(), body))
    return stages


def _locked(path: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a pip-compile lock file."""
    text = (ROOT / path).read_text()
    pins = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if match:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
            pins[canonicalize_name(match.group(1))] = (match.group(2), hashes)
    return pins


def _requirements(option: str, section: str = "options") -> list[Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg[section][option].splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


def test_a_multi_stage_build_from_bases_pinned_by_tag_and_digest():
    stages = _stages()
    assert [name for _, name, _ in stages] == ["builder", "runtime"]
    for base, _, _ in stages:
        assert re.fullmatch(rf"python:3\.11-slim-\w+{DIGEST}", base), base
        assert ":latest" not in base


def test_the_builder_makes_wheels_of_the_lock_with_hashes_checked():
    (_, _, builder), (_, _, runtime) = _stages()
    assert "COPY requirements.lock" in builder
    assert re.search(
        r"pip wheel --require-hashes --wheel-dir /wheels -r requirements\.lock", builder
    )
    # The project itself with no dependencies of its own resolved.
    assert re.search(r"pip wheel --no-deps --no-build-isolation --wheel-dir /wheels \.", builder)
    # The runtime installs those wheels only, never from an index.
    assert re.search(r"pip install --no-index --no-deps /wheels/\*\.whl", runtime)
    assert "from=builder" in runtime


def test_the_runtime_stage_has_no_build_tools_and_runs_as_a_numeric_non_root_user():
    _, _, runtime = _stages()[-1]
    assert not re.search(r"apt-get install|build-essential|gcc", runtime)
    assert re.search(r"pip uninstall --yes setuptools wheel pip", runtime)
    users = re.findall(r"^USER (\S+)$", runtime, re.MULTILINE)
    assert len(users) == 1
    uid, _, gid = users[0].partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0
    # USER is the last word on who runs: nothing after it switches back.
    assert "USER" not in runtime.split(f"USER {users[0]}", 1)[1]


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".env", "var", "tests"} <= ignored
    # What the Dockerfile copies must not be ignored.
    copied = re.findall(r"^COPY (?!--)(.+) \S+$", _dockerfile(), re.MULTILINE)
    for sources in copied:
        for source in sources.split():
            assert source not in ignored, source


def test_every_dependency_is_locked_with_hashes_within_setup_cfg():
    runtime, dev = _locked("requirements.lock"), _locked("requirements-dev.lock")
    # The image has tracing installed (off unless OTEL_ENABLED=1); the tests have everything.
    image = _requirements("install_requires") + _requirements("otel", "options.extras_require")
    for lock, requirements in (
        (runtime, image),
        (dev, image + _requirements("dev", "options.extras_require")),
    ):
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            assert name in lock, f"{name} is not in the lock: run make lock"
            version, _ = lock[name]
            assert requirement.specifier.contains(version, prereleases=True), (name, version)
        assert all(hashes for _, hashes in lock.values())
    # The image and the tests run the same versions.
    for name, (version, _) in runtime.items():
        assert dev[name][0] == version, name


def test_the_lock_is_for_the_python_of_the_image():
    (base, _, _) = _stages()[0]
    python = re.match(r"python:(\d+\.\d+)", base).group(1)
    for lock in ("requirements.lock", "requirements-dev.lock"):
        assert f"autogenerated by pip-compile with Python {python}" in (ROOT / lock).read_text()
        text = (ROOT / lock).read_text()
        # No machine's own index, wheel folder or path: pip's configuration supplies those.
        assert not re.search(r"file://|^--(extra-)?index-url|^--find-links", text, re.MULTILINE)


def test_make_installs_from_the_lock_and_the_project_without_its_dependencies():
    makefile = (ROOT / "Makefile").read_text()
    rule = makefile.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "requirements.lock requirements-dev.lock" in rule.splitlines()[0]
    assert "pip install --quiet --require-hashes -r requirements-dev.lock" in rule
    assert "pip install --quiet --no-deps --no-build-isolation -e ." in rule
    assert re.search(r"^lock: ", makefile, re.MULTILINE)


def test_compose_pulls_pinned_images_and_builds_the_release():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    (version,) = re.findall(r"^version = (\S+)$", (ROOT / "setup.cfg").read_text(), re.MULTILINE)
    for name, service in services.items():
        image = service["image"]
        reference, _, tag = image.partition("@")[0].rpartition(":")
        assert reference and tag and tag != "latest", (name, image)
        if "build" in service:
            assert image == f"exam-backend:{version}", name
        elif name != "nginx":  # nginx: an exact release tag (test_deploy_files.py)
            assert re.search(rf"{DIGEST}$", image), (name, image)
