"""Structured (JSON) logging with the current request or task id on every line, and the
request id carried from the request that sent a task into every line that task logs."""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import Any

from celery import signals
from pythonjsonlogger.json import JsonFormatter

from shared.config import Settings

# Set by the web layer per request and by the worker per task.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
# The running task's id and name (worker only): on its lines beside the request id.
task_var: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "task", default=None
)
# The message header that carries the sender's request id to the task.
REQUEST_ID_HEADER = "request_id"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (a redirected or captured stream too)."""

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # type: ignore[no-untyped-def]
        pass


class _ContextFilter(logging.Filter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.component = self.component
        task = task_var.get()
        if task is not None:  # extra fields: JSON lines get them, web lines stay as they were
            record.task_id, record.task = task
        return True


def configure_logging(settings: Settings, component: str) -> None:
    """Route every logger to stderr, one JSON object per line (or plain text if asked)."""
    handler = _StderrHandler()
    handler.addFilter(_ContextFilter(component))
    if settings.LOG_FORMAT == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(levelname)s %(name)s %(message)s %(request_id)s %(component)s",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="ts",
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.LOG_LEVEL)


def _stamp_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    rid = request_id_var.get()
    if rid and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, rid)


def _enter_task(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    rid = getattr(task.request, REQUEST_ID_HEADER, None) if task is not None else None
    request_id_var.set(rid or task_id)  # beat's and sweeps' tasks carry their own id
    task_var.set((task_id or "", getattr(task, "name", "")))


def _leave_task(**_: Any) -> None:
    request_id_var.set(None)
    task_var.set(None)


def connect_task_request_ids(*, worker: bool = False) -> None:
    """Every task sent carries the current request id as a header (web, and a task that
    sends more); in a worker (`worker=True`), each task's log lines carry it back."""
    signals.before_task_publish.connect(_stamp_request_id, weak=False, dispatch_uid="exam-rid")
    if worker:
        signals.task_prerun.connect(_enter_task, weak=False, dispatch_uid="exam-rid-in")
        signals.task_postrun.connect(_leave_task, weak=False, dispatch_uid="exam-rid-out")
