"""Wait until the database schema is at least what this image's migrations lead to.

The init container of every pod that touches the database (deploy/k8s): a new API or worker
version starts only after the migration Job has run `alembic upgrade head`, while pods of
the previous version (whose migrations are all applied) start at once. Exit 0 when ready,
1 when still behind after --timeout seconds (the kubelet then starts it again).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from shared.config import get_settings
from shared.db import create_sqlalchemy_engine

ROOT = Path(__file__).resolve().parents[1]


def schema_state(script: ScriptDirectory, current: tuple[str, ...]) -> str:
    """`ready`, `newer` (migrations this image doesn't know, e.g. during a rollback) or
    `behind` (not migrated yet, or at an older revision)."""
    if not current:
        return "behind"
    heads = set(script.get_heads())
    if heads <= set(current):
        return "ready"
    for revision in current:
        try:
            script.get_revision(revision)
        except CommandError:
            # Applied by a newer image: the expand/contract rule keeps this code working.
            return "newer"
    return "behind"


def current_revisions(url: str) -> tuple[str, ...]:
    engine = create_sqlalchemy_engine(url, get_settings())
    try:
        with engine.connect() as connection:
            return tuple(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between checks")
    args = parser.parse_args(argv)

    script = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    want = ", ".join(script.get_heads())
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            current = current_revisions(get_settings().database_url)
            state = schema_state(script, current)
            seen = ", ".join(current) or "no revision"
        except Exception as exc:  # the database not reachable yet counts as "not ready"
            state, seen = "behind", f"unreachable ({type(exc).__name__}: {exc})"
        if state != "behind":
            note = " (newer than this image)" if state == "newer" else ""
            print(f"schema ready: database at {seen}{note}; this image needs {want}", flush=True)
            return 0
        if time.monotonic() >= deadline:
            print(
                f"schema not ready: database at {seen}, this image needs {want}; "
                "has the migration Job (alembic upgrade head) run?",
                file=sys.stderr,
                flush=True,
            )
            return 1
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
