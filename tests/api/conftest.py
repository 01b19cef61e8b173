"""Accounts for API tests."""

import pytest

from shared.models import Role
from tests.factories import Account, make_user


@pytest.fixture
def student(session, settings) -> Account:
    return make_user(session, settings, role=Role.STUDENT)


@pytest.fixture
def admin(session, settings) -> Account:
    return make_user(session, settings, role=Role.ADMIN)
