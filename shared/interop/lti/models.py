"""LTI models: platform registrations, deployments, user and resource links."""

from __future__ import annotations
