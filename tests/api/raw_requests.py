"""Requests an attacker can write and json.dumps cannot, and the contract's error shape."""

from __future__ import annotations

HUGE_INT = "1" + "0" * 5000  # more digits than Python converts to an int (4300)


def send(client, method: str, url: str, body: str | bytes, headers=None):  # type: ignore[no-untyped-def]
    """A raw JSON body."""
    return client.open(
        url, method=method, data=body, content_type="application/json", headers=headers or {}
    )


def error_of(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    """The error body, after checking its status, machine code and shape."""
    body = response.get_json()
    assert response.status_code == status, body
    assert body["code"] == status and body["error"] == code
    assert body["status"] and body["message"]
    return body
