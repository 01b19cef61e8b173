"""Passwords: the rules a new one must meet, and hashing with argon2id (cost from settings)."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.config import Settings

MIN_PASSWORD_LENGTH = 8


@functools.cache
def _common_passwords() -> frozenset[str]:
    """zxcvbn's packaged list of the 30,000 most used passwords, loaded on first use."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None: too short, or one of the passwords every
    guesser tries first."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if password.lower() in _common_passwords():
        return "is one of the most common passwords: choose another"
    return None


@functools.cache
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def password_hasher(settings: Settings) -> PasswordHasher:
    return _hasher(settings.PASSWORD_HASH_TIME_COST, settings.PASSWORD_HASH_MEMORY_KIB)


def hash_password(settings: Settings, password: str) -> str:
    return password_hasher(settings).hash(password)


def verify_password(settings: Settings, password_hash: str, password: str) -> bool:
    try:
        return password_hasher(settings).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: Settings, password_hash: str) -> bool:
    return password_hasher(settings).check_needs_rehash(password_hash)


@functools.cache
def _dummy_hash(time_cost: int, memory_kib: int) -> str:
    return _hasher(time_cost, memory_kib).hash("not anyone's password")


def burn_password_check(settings: Settings, password: str) -> None:
    """Spend the same time as a real check, for an account that doesn't exist."""
    dummy = _dummy_hash(settings.PASSWORD_HASH_TIME_COST, settings.PASSWORD_HASH_MEMORY_KIB)
    verify_password(settings, dummy, password)
