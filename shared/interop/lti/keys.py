"""The tool's RSA key pair: what our id_tokens, deep-linking responses and client
assertions are signed with, and the JWKS platforms verify them against."""

from __future__ import annotations

import functools
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK  # type: ignore[import-untyped]

from shared.config import Settings
from shared.errors import ServiceUnavailable

MIN_KEY_BITS = 2048
GENERATED_KEY_NAME = "lti-private-key.pem"


@dataclass(frozen=True)
class ToolKey:
    private_pem: str
    public_pem: str
    kid: str

    def jwk(self) -> dict[str, Any]:
        """The public half as a JWK (`kid` = RFC 7638 thumbprint, RS256, for signatures)."""
        public = json.loads(JWK.from_pem(self.public_pem.encode()).export_public())
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}


def key_path(settings: Settings) -> Path | None:
    """Where the private key is read from; None when LTI has no key (server mode, unset)."""
    if settings.LTI_PRIVATE_KEY_FILE is not None:
        return settings.LTI_PRIVATE_KEY_FILE
    if settings.embedded:
        return _generated(settings.VAR_DIR / GENERATED_KEY_NAME)
    return None


def tool_key(settings: Settings) -> ToolKey:
    """The tool's key pair; ServiceUnavailable (`lti_not_configured`) if there is none."""
    path = key_path(settings)
    if path is None:
        raise ServiceUnavailable(
            "LTI is not configured: set LTI_PRIVATE_KEY_FILE", code="lti_not_configured"
        )
    try:
        stat = path.stat()
    except OSError:
        raise ServiceUnavailable(
            f"LTI key file {path} cannot be read", code="lti_not_configured"
        ) from None
    return _load(str(path), stat.st_mtime_ns)


def jwks(settings: Settings) -> dict[str, Any]:
    """The key set platforms fetch from /lti/jwks: empty while LTI has no key."""
    if key_path(settings) is None:
        return {"keys": []}
    return {"keys": [tool_key(settings).jwk()]}


@functools.lru_cache(maxsize=4)
def _load(path: str, _mtime_ns: int) -> ToolKey:
    """Parsed once per file version (a replaced file, a new mtime, is read again)."""
    private = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey) or private.key_size < MIN_KEY_BITS:
        raise ServiceUnavailable(
            f"LTI key {path} must be an RSA key of {MIN_KEY_BITS}+ bits",
            code="lti_not_configured",
        )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    kid = JWK.from_pem(public_pem.encode()).thumbprint()
    return ToolKey(private_pem=private_pem, public_pem=public_pem, kid=kid)


def new_private_key_pem(bits: int = MIN_KEY_BITS) -> bytes:
    """A fresh RSA private key in PEM (for embedded mode, and for operators' convenience)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _generated(path: Path) -> Path:
    """Embedded mode: the key is made once; the process that loses a race reads the winner's."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{secrets.token_hex(4)}")
        tmp.write_bytes(new_private_key_pem())
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path
