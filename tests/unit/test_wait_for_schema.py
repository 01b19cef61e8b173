"""deploy/wait_for_schema.py: a pod waits for the migration Job, except behind a newer schema."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "wait_for_schema.py"


def _module():
    spec = importlib.util.spec_from_file_location("wait_for_schema", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ScriptDirectory:
    return ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))


def test_ready_only_at_this_images_head_or_beyond(script):
    state = _module().schema_state
    (head,) = script.get_heads()
    first = list(script.walk_revisions())[-1].revision
    assert state(script, ()) == "behind"  # nothing migrated yet
    assert state(script, (first,)) == "behind"  # an older release's schema
    assert state(script, (head,)) == "ready"
    # A revision this image doesn't know: a newer release migrated (a rollback, or an old
    # pod restarting mid-rollout), which expand/contract migrations keep working.
    assert state(script, ("f00dfeedbeef",)) == "newer"
