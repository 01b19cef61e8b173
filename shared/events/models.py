"""Outbox and webhook models."""

from __future__ import annotations
