"""Audit chain anchors: beat asks for them every AUDIT_ANCHOR_SECONDS."""

from __future__ import annotations

import logging

from shared.db import transaction
from shared.models import utcnow
from shared.trust import audit
from worker.app import app, settings

log = logging.getLogger(__name__)


@app.task(name=audit.ANCHOR_TASK)
def anchor_audit_chains() -> int:
    """Anchor every exam whose trails may still grow, each in its own transaction, so one
    failing exam never holds back the others; returns how many anchors were made."""
    with transaction(settings) as session:
        exam_ids = audit.exams_to_anchor(session, utcnow(), settings.AUDIT_ANCHOR_RECENT_DAYS)
    made = 0
    for exam_id in exam_ids:
        try:
            with transaction(settings) as session:
                made += audit.anchor_exam(session, exam_id, utcnow()) is not None
        except Exception:
            log.exception("anchoring the audit chains of exam %s failed", exam_id)
    return made
