"""Settings: embedded defaults, server mode, derived URLs and clear errors for bad values."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from shared.config import ConfigError, Settings, load_settings

SECRET = secrets.token_urlsafe(40)
RECEIPT_KEY = base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No setting leaks in from the shell, the test session or a developer's .env."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_with_nothing_set_everything_is_embedded_under_var(clean_env):
    settings = load_settings()
    var = clean_env / "var"
    assert settings.embedded
    assert var == settings.VAR_DIR and var.is_dir()
    assert settings.database_url == f"sqlite:///{var / 'exam.sqlite'}"
    assert settings.broker_url == f"sqlfanout+sqlite:///{var / 'celery-broker.sqlite'}"
    assert settings.result_backend == f"db+sqlite:///{var / 'celery-results.sqlite'}"
    assert settings.ratelimit_storage_url == "memory://"
    assert settings.cache_url is None


def test_embedded_mode_generates_and_keeps_a_jwt_secret(clean_env):
    first = load_settings().jwt_secret()
    assert len(first) >= 32
    assert load_settings().jwt_secret() == first  # a restart keeps tokens valid
    assert oct((clean_env / "var" / "jwt-secret").stat().st_mode & 0o777) == "0o600"


def test_redis_gets_one_db_per_concern(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6380/4")
    monkeypatch.setenv("JWT_SECRET_KEY", SECRET)
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", RECEIPT_KEY)
    settings = load_settings()
    assert not settings.embedded
    assert settings.broker_url == "redis://cache.internal:6380/4"
    assert settings.result_backend == "redis://cache.internal:6380/5"
    assert settings.cache_url == "redis://cache.internal:6380/6"
    assert settings.ratelimit_storage_url == "redis://cache.internal:6380/7"


@pytest.mark.parametrize(
    ("layout", "dbs", "prefixes"),
    [
        ("split", (4, 5, 6, 7), ("p:", "p:", "p:", "p:")),
        ("single", (4, 4, 4, 4), ("p:broker:", "p:results:", "p:cache:", "p:ratelimit:")),
    ],
)
def test_the_redis_layout_decides_dbs_and_key_prefixes(monkeypatch, layout, dbs, prefixes):
    from shared.messaging import VISIBILITY_TIMEOUT_SECONDS, celery_config
    from web import _flask_config

    monkeypatch.setenv("REDIS_URL", "rediss://:pw@cache.internal:6380/4?ssl_cert_reqs=required")
    monkeypatch.setenv("REDIS_KEY_PREFIX", "p:")
    monkeypatch.setenv("REDIS_LAYOUT", layout)
    monkeypatch.setenv("JWT_SECRET_KEY", SECRET)
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", RECEIPT_KEY)
    settings = load_settings()
    urls = (
        settings.broker_url,
        settings.result_backend,
        settings.cache_url,
        settings.ratelimit_storage_url,
    )
    assert urls == tuple(
        f"rediss://:pw@cache.internal:6380/{db}?ssl_cert_reqs=required" for db in dbs
    )
    roles = ("broker", "results", "cache", "ratelimit")
    assert tuple(settings.redis_prefix(role) for role in roles) == prefixes
    config = celery_config(settings)
    assert config["broker_transport_options"] == {
        "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
        "global_keyprefix": prefixes[0],
    }
    assert config["result_backend_transport_options"]["global_keyprefix"] == prefixes[1]
    storage = _flask_config(settings).get("RATELIMIT_STORAGE_OPTIONS")
    assert storage == ({"key_prefix": "p:ratelimit"} if layout == "single" else None)


def test_the_single_layout_may_use_any_db(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://localhost/15")
    monkeypatch.setenv("REDIS_LAYOUT", "single")
    monkeypatch.setenv("JWT_SECRET_KEY", SECRET)
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", RECEIPT_KEY)
    assert load_settings().ratelimit_storage_url == "redis://localhost/15"


def test_explicit_celery_urls_win(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://guest@localhost//")
    monkeypatch.setenv("JWT_SECRET_KEY", SECRET)
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", RECEIPT_KEY)
    assert load_settings().broker_url == "amqp://guest@localhost//"


def test_postgres_urls_use_psycopg2(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/exams")
    monkeypatch.setenv("JWT_SECRET_KEY", SECRET)
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", RECEIPT_KEY)
    assert load_settings().database_url == "postgresql+psycopg2://u:p@db/exams"


def test_the_dotenv_file_is_read(clean_env):
    (clean_env / ".env").write_text("EXPIRY_SWEEP_SECONDS=42\n")
    assert load_settings().EXPIRY_SWEEP_SECONDS == 42


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://x@y/z", "only postgresql:// and sqlite://"),
        ("DATABASE_URL", "::nonsense::", "not a database URL"),
        ("REDIS_URL", "http://localhost", "must start with redis://"),
        ("REDIS_URL", "redis://localhost/14", "leave room for 4 dbs"),
        ("REDIS_LAYOUT", "cluster", "'split' or 'single'"),
        ("EXPIRY_SWEEP_SECONDS", "0", "greater than or equal to 1"),
        ("EXPIRY_SWEEP_SECONDS", "soon", "valid integer"),
        ("JWT_SECRET_KEY", "short", "at least 32 characters"),
        ("RECEIPT_SIGNING_KEY", "not-a-key", "base64 of 32 bytes"),
        ("RECEIPT_PREVIOUS_PUBLIC_KEYS", "c2hvcnQ=", "base64 of 32 bytes each"),
        ("SMTP_URL", "mail.example.com", "smtp://"),
        ("LOG_LEVEL", "LOUD", "DEBUG"),
    ],
)
def test_a_bad_value_stops_start_up_with_a_message_naming_it(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as excinfo:
        load_settings()
    text = str(excinfo.value)
    assert text.startswith("Invalid configuration:")
    assert name in text and message in text


ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def _example_secret() -> str:
    line = next(x for x in ENV_EXAMPLE.read_text().splitlines() if "JWT_SECRET_KEY=" in x)
    return line.split("=", 1)[1].strip()


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (_example_secret(), "placeholder"),  # anyone who read .env.example could sign tokens
        ("replace-this-with-a-long-random-string-please", "placeholder"),
        ("x" * 48, "too repetitive"),
        ("ab" * 20, "too repetitive"),
    ],
)
def test_server_mode_refuses_a_guessable_jwt_secret(monkeypatch, secret, message):
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    monkeypatch.setenv("JWT_SECRET_KEY", secret)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_server_mode_requires_a_shared_jwt_secret(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY must be set"):
        load_settings()


def test_server_mode_requires_a_receipt_signing_key(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    monkeypatch.setenv("JWT_SECRET_KEY", SECRET)
    with pytest.raises(ConfigError, match="RECEIPT_SIGNING_KEY must be set"):
        load_settings()


def test_embedded_mode_generates_and_keeps_a_receipt_signing_key(clean_env):
    first = load_settings().receipt_signing_key()
    assert len(base64.b64decode(first)) == 32
    assert load_settings().receipt_signing_key() == first  # old receipts keep verifying
    assert oct((clean_env / "var" / "receipt-signing-key").stat().st_mode & 0o777) == "0o600"
