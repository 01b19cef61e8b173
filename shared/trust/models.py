"""Trust models: audit chain anchors and regrade rollback records."""

from __future__ import annotations
