"""Review flags models (the evidence flags are computed from)."""

from __future__ import annotations
