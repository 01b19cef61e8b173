"""docs/configuration.md is generated from the Settings class and must match it."""

from __future__ import annotations

import subprocess
import sys

from shared import config_doc
from shared.config import Settings
from tests.conftest import ROOT


def test_the_committed_configuration_doc_is_up_to_date():
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == config_doc.render(), (
        "docs/configuration.md is out of date: run `python -m shared.config_doc` and commit it"
    )


def test_every_setting_is_documented_with_a_description():
    table = config_doc.render()
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == [], f"add description= to these settings in shared/config.py: {missing}"
    for name in Settings.model_fields:
        assert f"| `{name}` |" in table


def test_the_check_command_fails_on_a_stale_file(tmp_path, monkeypatch):
    stale = tmp_path / "configuration.md"
    stale.write_text(config_doc.render().replace("| `DB_POOL_SIZE` |", "| `DB_POOL` |"))
    monkeypatch.setattr(config_doc, "OUTPUT", stale)
    assert config_doc.main(["--check"]) == 1
    assert config_doc.main([]) == 0 and stale.read_text() == config_doc.render()
    assert config_doc.main(["--check"]) == 0
    done = subprocess.run([sys.executable, "-m", "shared.config_doc", "--check"], cwd=ROOT,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
