"""LTI 1.3 grade passback and roster sync."""

from __future__ import annotations

from worker.app import app, settings  # noqa: F401
