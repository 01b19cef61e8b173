"""The LTI tool key: made once in embedded mode (every process reads the same file), read
from LTI_PRIVATE_KEY_FILE in server mode, and refused when it is weak or missing."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.config import load_settings
from shared.errors import ServiceUnavailable
from shared.interop.lti import keys


@pytest.fixture(autouse=True)
def _embedded_env(monkeypatch):  # type: ignore[no-untyped-def]
    """Whatever an earlier test exported, these start from embedded mode."""
    for name in ("DATABASE_URL", "REDIS_URL", "LTI_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_embedded_mode_makes_one_key_and_keeps_it(tmp_path):
    settings = load_settings(VAR_DIR=tmp_path)
    assert settings.embedded
    first = keys.tool_key(settings)
    assert (tmp_path / keys.GENERATED_KEY_NAME).stat().st_mode & 0o077 == 0
    again = keys.tool_key(load_settings(VAR_DIR=tmp_path))
    assert again.kid == first.kid
    [jwk] = keys.jwks(settings)["keys"]
    assert (jwk["kid"], jwk["alg"], jwk["use"], jwk["kty"]) == (first.kid, "RS256", "sig", "RSA")
    assert "d" not in jwk  # the public half only


def test_server_mode_without_a_key_has_no_lti(tmp_path):
    # A server-mode view of the same settings (copied, so no other key is demanded here).
    embedded = load_settings(VAR_DIR=tmp_path)
    settings = embedded.model_copy(update={"DATABASE_URL": "postgresql://db/exam"})
    assert not settings.embedded
    assert keys.jwks(settings) == {"keys": []}
    with pytest.raises(ServiceUnavailable) as refused:
        keys.tool_key(settings)
    assert refused.value.code == "lti_not_configured"
    assert not (tmp_path / keys.GENERATED_KEY_NAME).exists()


def test_a_weak_key_is_refused(tmp_path):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505  (the point)
    path = tmp_path / "weak.pem"
    path.write_bytes(weak.private_bytes(serialization.Encoding.PEM,
                     serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))  # fmt: skip
    settings = load_settings(VAR_DIR=tmp_path, LTI_PRIVATE_KEY_FILE=path)
    with pytest.raises(ServiceUnavailable, match="2048"):
        keys.tool_key(settings)
