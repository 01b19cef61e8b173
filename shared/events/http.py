"""One webhook POST to an address checked beforehand: the connection dials that address
(never a second DNS answer), names the host in Host and TLS SNI, follows no redirect."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection

from shared.events.targets import Target

USER_AGENT = "exam-backend-webhooks/1"


@dataclass(frozen=True)
class Answer:
    """What the receiver said: its status code, or why there was none."""

    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _dial(conn: HTTPConnection, addresses: tuple[str, ...]) -> socket.socket:
    """Connect to the first of the checked addresses that answers."""
    last: OSError | None = None
    for address in addresses:
        try:
            return connection.create_connection(
                (address, conn.port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(conn, f"connecting to {address} timed out") from exc
        except OSError as exc:
            last = exc
    raise NewConnectionError(conn, f"could not connect to {', '.join(addresses)}: {last}")


def _pinned_adapter(addresses: tuple[str, ...]) -> HTTPAdapter:
    """A transport whose connections go to `addresses` whatever the URL's host resolves
    to now: the check and the connection see the same address (no DNS rebinding)."""

    class PinnedHTTP(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _dial(self, addresses)

    class PinnedHTTPS(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _dial(self, addresses)

    class PinnedHTTPPool(HTTPConnectionPool):
        ConnectionCls = PinnedHTTP

    class PinnedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = PinnedHTTPS

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {
                "http": PinnedHTTPPool,
                "https": PinnedHTTPSPool,
            }

    return Adapter(max_retries=0)


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` to the checked target; never raises for the receiver's failures."""
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: it would dial elsewhere
    adapter = _pinned_adapter(target.addresses)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    try:
        response = session.post(
            target.url,
            data=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
            timeout=timeout,
            allow_redirects=False,  # a redirect could point anywhere, inside too
            stream=True,  # the body is not read: a receiver can't make us download
        )
        response.close()
        return Answer(response.status_code)
    except requests.Timeout:
        return Answer(None, f"timed out after {timeout:g} s")
    except requests.RequestException as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}"[:500])
    finally:
        session.close()
