"""Tokens verified once per process, not on every request.

PyJWT checks a token's base64 character by character, and flask-jwt-extended decodes each
token three times (claims unverified, header unverified, then verified): about a fifth of
the CPU of a status poll. A student sends the same access token every 15–30 s for its whole
lifetime, so the claims of a token whose signature was verified are kept, bounded, and
handed out again only while the token has not expired. Revocation is not cached: it is
checked on every request as before (`web.security`)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from flask import current_app
from flask_jwt_extended import JWTManager

MAX_TOKENS = 50_000  # ~1 KB each: a whole district's students fit in ~50 MB


class CachingJWTManager(JWTManager):
    def __init__(self, *args: Any, max_tokens: int = MAX_TOKENS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._verified: OrderedDict[tuple[str, str], tuple[dict[str, Any], float]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_tokens

    def _decode_jwt_from_config(
        self, encoded_token: str, csrf_value: Any = None, allow_expired: bool = False
    ) -> dict[str, Any]:
        if csrf_value is not None or allow_expired:  # not the hot path: decode as always
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        # The secret is part of the key: a token is only ever trusted under the key it was
        # verified with (tests run apps with different secrets in one process).
        key = (str(current_app.config["JWT_SECRET_KEY"]), encoded_token)
        found = self._verified.get(key)
        if found is not None and time.time() < found[1]:
            return dict(found[0])
        claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        expires = claims.get("exp")
        if isinstance(expires, int | float):
            with self._lock:
                self._verified[key] = (dict(claims), float(expires))
                while len(self._verified) > self._max:
                    self._verified.popitem(last=False)  # the oldest verified first
        return claims
