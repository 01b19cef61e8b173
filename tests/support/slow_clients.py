"""Slow clients (slowloris): connections that send their request headers one byte a second.

Only loopback addresses are ever attacked, and every run stops by itself after `duration`."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import selectors
import socket
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

# The request never ends: after its first line, one more header byte every interval.
_TRICKLE = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 4000


@dataclass
class Attack:
    """What the slow clients did: connections opened, and how many the server cut off."""

    opened: int = 0
    cut_off: int = 0
    bytes_sent: int = 0
    held: list[int] = field(default_factory=list)  # connections open, once per interval


class SlowClients:
    """`count` connections to host:port, each sending one header byte per `interval`, for
    `duration` seconds; a connection the server closes is opened again (as an attacker would).
    """

    def __init__(
        self, host: str, port: int, count: int = 200, interval: float = 1.0, duration: float = 15
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"slow clients only ever target loopback, not {host}")
        self.address = (host, port)
        self.count, self.interval, self.duration = count, interval, duration
        self.attack = Attack()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)

    def __enter__(self) -> SlowClients:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def wait_until_held(self, timeout: float = 10) -> None:
        """Block until every connection has been opened and has sent a first byte."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.attack.held and self.attack.held[-1] >= self.count:
                return
            time.sleep(0.05)
        raise AssertionError(f"slow clients not all connected: {self.attack}")

    def _open(self, selector: selectors.BaseSelector) -> list[object]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect_ex(self.address)  # completes in the background; loopback is instant
        conn: list[object] = [sock, 0]
        selector.register(sock, selectors.EVENT_READ, conn)
        self.attack.opened += 1
        return conn

    def _close(self, selector: selectors.BaseSelector, conn: list[object]) -> None:
        sock = conn[0]
        assert isinstance(sock, socket.socket)
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(sock)
        sock.close()

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        conns = [self._open(selector) for _ in range(self.count)]
        ends = time.monotonic() + self.duration
        try:
            while not self._stop.is_set() and time.monotonic() < ends:
                tick = time.monotonic()
                # A readable slow connection is one the server answered (408) or closed.
                for key, _ in selector.select(timeout=0):
                    conn = key.data
                    self._close(selector, conn)
                    conns[conns.index(conn)] = self._open(selector)
                    self.attack.cut_off += 1
                held = 0
                for i, conn in enumerate(conns):
                    sock, sent = conn
                    assert isinstance(sock, socket.socket) and isinstance(sent, int)
                    try:
                        sock.send(_TRICKLE[sent : sent + 1])
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError as exc:
                        if exc.errno == errno.ENOTCONN:  # still connecting
                            continue
                        self._close(selector, conn)
                        conns[i] = self._open(selector)
                        self.attack.cut_off += 1
                        continue
                    conn[1] = (sent + 1) % len(_TRICKLE)
                    self.attack.bytes_sent += 1
                    held += 1
                self.attack.held.append(held)
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - tick)))
        finally:
            for conn in conns:
                self._close(selector, conn)
            selector.close()


@dataclass
class Probes:
    """Normal requests sent meanwhile: each one's latency, or None if it got no answer."""

    latencies: dict[str, list[float | None]] = field(default_factory=dict)

    @property
    def all(self) -> list[float | None]:
        return [value for values in self.latencies.values() for value in values]

    @property
    def unanswered(self) -> int:
        return sum(1 for value in self.all if value is None)

    def p99(self) -> float:
        values = sorted(v if v is not None else float("inf") for v in self.all)
        return values[min(len(values) - 1, int(len(values) * 0.99))]

    def summary(self) -> str:
        answered = [v for v in self.all if v is not None]
        median = statistics.median(answered) if answered else float("nan")
        return (
            f"{len(self.all)} requests, {self.unanswered} unanswered, "
            f"median {median * 1000:.0f} ms, p99 {self.p99() * 1000:.0f} ms"
        )


def probe(
    requests_by_name: dict[str, Callable[[], requests.Response]],
    duration: float,
    pause: float = 0.1,
    ok: Callable[[requests.Response], bool] = lambda r: r.status_code == 200,
) -> Probes:
    """Send each request in turn, over and over for `duration` seconds, on new connections."""
    probes = Probes({name: [] for name in requests_by_name})
    ends = time.monotonic() + duration
    while time.monotonic() < ends:
        for name, send in requests_by_name.items():
            started = time.monotonic()
            try:
                answered = ok(send())
            except requests.RequestException:
                answered = False
            probes.latencies[name].append(time.monotonic() - started if answered else None)
        time.sleep(pause)
    return probes
