"""Optional OpenTelemetry traces for the API (Flask) and the worker (Celery), on with
OTEL_ENABLED=1 and configured by the standard OTEL_* variables.

Imported only when enabled: without the `otel` extra installed nothing here is loaded.
OTEL_TRACES_EXPORTER picks the exporter: `otlp` (default, OTLP over HTTP to
OTEL_EXPORTER_OTLP_ENDPOINT), `console` (spans printed to stdout) or `none`;
OTEL_SERVICE_NAME overrides the service name (`exam-api`, `exam-worker`)."""

from __future__ import annotations

import os
from typing import Any

from celery import signals
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)

from shared.config import ConfigError

_provider: dict[str, TracerProvider] = {}


def tracer_provider(service: str) -> TracerProvider:
    """This process's provider (one per process: spans of Flask and Celery share it)."""
    if "current" in _provider:
        return _provider["current"]
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})
    provider = TracerProvider(resource=resource)
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")[0].strip()
    if exporter == "console":  # for a look by hand: printed as each span ends
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise ConfigError(
                "OTEL_TRACES_EXPORTER=otlp needs opentelemetry-exporter-otlp-proto-http "
                "(pip install '.[otel]'), or set OTEL_TRACES_EXPORTER=console"
            ) from None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    elif exporter != "none":
        raise ConfigError(f"OTEL_TRACES_EXPORTER={exporter!r}: use otlp, console or none")
    trace.set_tracer_provider(provider)
    _provider["current"] = provider
    return provider


def trace_flask(app: Any) -> None:
    """Spans for every request, and the trace context sent along with every task."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    provider = tracer_provider("exam-api")
    FlaskInstrumentor().instrument_app(
        app, tracer_provider=provider, excluded_urls="healthz,readyz,metrics"
    )
    instrumentor = CeleryInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)


def trace_celery() -> None:
    """Spans for every task run, in each pool process (the SDK's export thread does not
    survive a fork, so it starts after it), and for tasks beat and the worker send."""

    def start(**_: Any) -> None:
        from opentelemetry.instrumentation.celery import CeleryInstrumentor

        instrumentor = CeleryInstrumentor()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=tracer_provider("exam-worker"))

    signals.worker_process_init.connect(start, weak=False)
    signals.beat_init.connect(start, weak=False)
