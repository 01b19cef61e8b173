"""Stopping the API (SIGTERM, as a deploy does) against real gunicorn: a request in flight is
answered in full, and an idle keep-alive connection is closed at once instead of holding the
worker until its keep-alive time runs out (web/serving.py, BufferedWSGIWorker)."""

from __future__ import annotations

import http.client
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.support.busy_app import serve

pytestmark = pytest.mark.e2e


def test_a_stop_closes_idle_connections_while_it_answers_the_request_in_flight(gunicorn):
    # A keep-alive longer than the stop's graceful timeout (20 s): left to time out, the idle
    # connection would hold the worker until gunicorn's master killed it.
    base = serve(gunicorn, GUNICORN_CMD_ARGS="--keep-alive 120")
    master = gunicorn.running[-1][1]
    url = urlsplit(base)
    events: list[str] = []

    idle = http.client.HTTPConnection(url.hostname, url.port, timeout=90)
    idle.request("GET", "/healthz")
    first = idle.getresponse()
    assert (first.status, first.read(), first.will_close) == (200, b'{"ok": true}', False)

    def slow() -> None:
        busy = http.client.HTTPConnection(url.hostname, url.port, timeout=90)
        busy.request("GET", "/api/slow")
        response = busy.getresponse()
        events.append(f"slow answered {response.status} {response.read()!r}")
        busy.close()

    def closed() -> None:
        assert idle.sock is not None
        events.append(f"idle closed {idle.sock.recv(4096)!r}")  # b'': nothing half sent

    threads = [threading.Thread(target=slow), threading.Thread(target=closed)]
    threads[0].start()
    time.sleep(0.5)  # the slow request reaches the app; it holds it SLOW_SECONDS
    threads[1].start()

    gunicorn.terminate_main(master, timeout=60)

    for thread in threads:
        thread.join()
    idle.close()
    assert events == ["idle closed b''", """slow answered 200 b'{"ok": true}'"""]
    assert master.returncode == 0
