"""Calling a real server as the web client does: a 503 `overloaded` (admission control,
web/serving.py) is sent again after Retry-After x 1-2 (web/static/app/api.js). Tests of
faults and of the browser drive bursts that a busy two-core machine may shed; a real
client waits and retries, and so do they. Other errors, other 503s included (a database
outage), come back as they are."""

from __future__ import annotations

import random
import time
from typing import Any

import requests

BUSY_RETRIES = 20


def answers(url: str) -> bool:
    """The server at `url` is up: a 200 within a second (anything else, or nothing, is no)."""
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def overloaded(response: requests.Response) -> bool:
    if response.status_code != 503 or "Retry-After" not in response.headers:
        return False
    try:
        return response.json().get("error") == "overloaded"
    except ValueError:
        return False


def send(sender: Any, method: str, url: str, **kwargs: Any) -> requests.Response:
    """`sender.request(method, url, **kwargs)` (requests or a Session), busy answers retried."""
    for _ in range(BUSY_RETRIES):
        response = sender.request(method, url, **kwargs)
        if not overloaded(response):
            return response
        time.sleep(float(response.headers["Retry-After"]) * (1 + random.random()))
    return response
