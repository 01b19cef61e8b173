"""Webhook delivery from the outbox."""

from __future__ import annotations

from worker.app import app, settings  # noqa: F401
