"""deploy/wait_for_schema.py run as the init container runs it, against a real database file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "wait_for_schema.py"


def _run(url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "VAR_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--timeout", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_init_container_fails_until_migrated_then_passes(tmp_path):
    url = f"sqlite:///{tmp_path / 'exam.sqlite'}"
    before = _run(url, tmp_path)
    assert before.returncode == 1
    assert "has the migration Job (alembic upgrade head) run?" in before.stderr

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")
    after = _run(url, tmp_path)
    assert after.returncode == 0, after.stderr
    assert after.stdout.startswith("schema ready")

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    engine.dispose()
    newer = _run(url, tmp_path)
    assert newer.returncode == 0 and "newer than this image" in newer.stdout
