"""Fuzz the whole API from its own OpenAPI spec, as a student and as an admin: no 5xx, and
every response matches what the spec documents. A bounded run (examples per operation);
half of the examples use ids that exist, so the fuzzer reaches past the 404s."""

from __future__ import annotations

import functools
import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from shared.models import Role
from tests.factories import login

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Bounded for CI; a deep run: FUZZ_EXAMPLES=300 make test PYTEST_ARGS=tests/security/test_fuzz.py
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "15"))


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda m: m.value)
@pytest.mark.parametrize("role", [Role.ADMIN, Role.STUDENT])
def test_fuzz_every_operation(app, client, world, role, mode):
    """Positive: valid requests. Negative: requests that break the spec on purpose (they
    must be refused with a documented 4xx, never a 5xx)."""
    account = world.admin if role == Role.ADMIN else world.owner
    headers = login(client, account)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 40  # the whole API, not a corner of it
    failures, statuses = [], Counter()
    for operation in found:
        try:
            run_operation(
                operation,
                mode,
                world,
                functools.partial(_token_for, operation, client, account, headers),
                statuses,
            )
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
    if mode is schemathesis.GenerationMode.POSITIVE:
        assert statuses[2] > 100  # plenty of requests got past validation and auth


def _token_for(operation, client, account, headers):  # type: ignore[no-untyped-def]
    """A real token, not a generated one; logout gets its own, so ours stays valid."""
    return login(client, account) if operation.path.endswith("/logout") else headers


def run_operation(operation, mode, world, token, statuses: Counter) -> None:  # type: ignore[no-untyped-def]
    seen = Counter()

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck), database=None,
    )  # fmt: skip
    def fuzz(case):  # type: ignore[no-untyped-def]
        seen["cases"] += 1
        real_ids = mode is schemathesis.GenerationMode.POSITIVE and seen["cases"] % 2
        if real_ids and case.path_parameters:  # every other valid case: ids that exist
            case.path_parameters = {k: world.ids.get(k, v) for k, v in case.path_parameters.items()}
        case.headers = {**(case.headers or {}), **token()}
        response = case.call_and_validate(checks=CHECKS)
        statuses[response.status_code // 100] += 1

    try:
        fuzz()
    except Unsatisfiable:
        # A public GET without parameters (a published key) has nothing to break on purpose.
        if mode is not schemathesis.GenerationMode.NEGATIVE or list(operation.iter_parameters()):
            raise
