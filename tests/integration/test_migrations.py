"""Alembic upgrades both backends to exactly the models (`alembic check` is clean)."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from tests.conftest import ADMIN_DATABASE_URL, alembic_config


@pytest.fixture
def scratch_postgres():
    name = f"exam_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def target_url(request, tmp_path, settings):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.sqlite'}"
    return request.getfixturevalue("scratch_postgres")


def test_upgrade_matches_the_models_and_downgrade_undoes_it(target_url):
    cfg = alembic_config(target_url)
    command.upgrade(cfg, "head")
    command.check(cfg)  # raises if the models and the migrated schema differ
    engine = create_engine(target_url)
    try:
        assert {"users", "revoked_sessions", "questions", "exams", "attempts", "answers"} <= set(
            inspect(engine).get_table_names()
        )
        command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        command.upgrade(cfg, "head")
    finally:
        engine.dispose()
