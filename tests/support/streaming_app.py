"""A WSGI app whose every response is a stream of server-sent events, half a second apart:
what the SSE routes (`/live/stream`) look like to the server in front of them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

EVENTS = 4
PAUSE = 0.5


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
    for n in range(EVENTS):
        if n:
            time.sleep(PAUSE)
        yield f"event: live\ndata: {n}\n\n".encode()
