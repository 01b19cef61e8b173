"""Audit chain anchors."""

from __future__ import annotations

from worker.app import app, settings  # noqa: F401
