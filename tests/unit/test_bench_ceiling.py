"""bench/ceiling.py runs the autosave's own statement in pgbench: every parameter of it must
be given a value there, or pgbench aborts and the ceiling is not measured (it was not, for
a while, once the save recorded the client's address)."""

from __future__ import annotations

import re

from bench import ceiling


def test_the_pgbench_script_gives_every_parameter_of_the_save_a_value():
    script = ceiling.script(attempts=10, questions=5)
    assert set(re.findall(r"(?<!:):[a-z_]+\b", script)) == {":n", ":q"}  # pgbench's variables
    assert "'127.0.0.1'" in script
