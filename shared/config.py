"""One settings object, read from the environment (and `.env`) once, used by web and worker."""

from __future__ import annotations

import base64
import functools
import os
import re
import secrets
from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Redis db offsets from the db number in REDIS_URL: one db per concern, so an operator can
# flush rate limits or the cache without touching queued tasks.
REDIS_DB_OFFSETS = {"broker": 0, "results": 1, "cache": 2, "ratelimit": 3}
# REDIS_LAYOUT=single: every concern in REDIS_URL's own db (managed Redis with one db), kept
# apart by these prefixes after REDIS_KEY_PREFIX (docs/operations.md, "Redis"). Heartbeats
# live with the cache.
REDIS_ROLE_PREFIXES = {
    "broker": "broker:",
    "results": "results:",
    "cache": "cache:",
    "ratelimit": "ratelimit:",
}


class ConfigError(SystemExit):
    """A bad setting: exits with a readable message instead of a traceback."""


class Settings(BaseSettings):
    """Every knob of the system; names are the environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
        env_ignore_empty=True,  # `SMTP_URL=` in compose or .env means "not set"
    )

    VAR_DIR: Path = Field(
        Path("var"),
        description="Local state: SQLite files, beat schedule, mail and metrics files",
    )
    DATABASE_URL: str | None = Field(
        None,
        description="postgresql:// or sqlite:// URL; unset: SQLite under VAR_DIR (embedded mode)",
    )
    DATABASE_REPLICA_URL: str | None = Field(
        None,
        description="A read replica (PostgreSQL streaming standby) for reads that tolerate lag: "
        "the roster and results exports; unset: everything reads DATABASE_URL",
    )
    # Before REDIS_URL: its validator reads the layout.
    REDIS_LAYOUT: Literal["split", "single"] = Field(
        "split",
        description="split: REDIS_URL's db and the next 3 (broker, results, cache, rate limits); "
        "single: its db only, each concern under its own key prefix (managed Redis, one db)",
    )
    REDIS_URL: str | None = Field(
        None,
        description="redis:// URL; REDIS_LAYOUT says which dbs of it the concerns use",
    )
    CELERY_BROKER_URL: str | None = Field(
        None,
        description="Celery broker URL; unset: derived from REDIS_URL, else SQLite under VAR_DIR",
    )
    CELERY_RESULT_BACKEND: str | None = Field(
        None, description="Celery result backend URL; unset: derived from REDIS_URL, else SQLite"
    )
    CACHE_URL: str | None = Field(
        None,
        description="Redis URL of the shared cache; unset: from REDIS_URL, else per process",
    )
    RATELIMIT_STORAGE_URL: str | None = Field(
        None, description="Rate-limit storage URL; unset: derived from REDIS_URL, else memory://"
    )
    # Prepended to every Redis key (queues, cache, rate limits): lets two deployments (or two
    # test runs) share one Redis without seeing each other's messages.
    REDIS_KEY_PREFIX: str = Field(
        "",
        pattern=r"^[A-Za-z0-9:_-]*$",
        max_length=40,
        description="Prefix of every Redis key, so deployments can share one Redis",
    )

    JWT_SECRET_KEY: SecretStr | None = Field(
        None, description="Token signing key (32+ random characters); required in server mode"
    )
    # Submission receipts (docs/receipts-and-audit.md): every API process signs with it.
    RECEIPT_SIGNING_KEY: SecretStr | None = Field(
        None,
        description="Ed25519 key that signs submission receipts: base64 of the raw 32-byte "
        "private key, or the path of a PEM (PKCS#8) file; required in server mode, generated "
        "under VAR_DIR in embedded mode",
    )
    RECEIPT_PREVIOUS_PUBLIC_KEYS: str = Field(
        "",
        description="Public keys of earlier RECEIPT_SIGNING_KEYs (comma-separated base64 of 32 "
        "bytes): receipts they signed still verify after a rotation",
    )
    RECEIPT_VERIFY_PER_ADDRESS: str = Field(
        "1000 per hour",
        description="Receipt checks (POST /receipts/verify, open to anyone) per client address",
    )
    AUDIT_ANCHOR_SECONDS: int = Field(
        300, ge=10, le=86400, description="How often beat anchors each exam's audit chains"
    )
    AUDIT_ANCHOR_RECENT_DAYS: int = Field(
        14, ge=1, le=3650, description="Exams closed longer ago than this are no longer anchored"
    )
    JWT_ACCESS_TOKEN_SECONDS: int = Field(
        900, ge=30, le=86400, description="Lifetime of an access token"
    )
    JWT_REFRESH_TOKEN_SECONDS: int = Field(
        7 * 86400, ge=60, description="Lifetime of a refresh token"
    )
    # argon2id cost; the defaults follow RFC 9106's second recommended option.
    PASSWORD_HASH_TIME_COST: int = Field(3, ge=1, description="argon2id time cost (iterations)")
    PASSWORD_HASH_MEMORY_KIB: int = Field(65536, ge=1024, description="argon2id memory cost in KiB")

    SMTP_URL: str | None = Field(
        None,
        description="smtp:// or smtps:// server for email; unset: .eml files under VAR_DIR/mail",
    )
    MAIL_FROM: str = Field("Exams <exams@localhost>", description="From header of the emails sent")
    EXPIRY_SWEEP_SECONDS: int = Field(
        15, ge=1, le=3600, description="How often beat submits attempts whose time ran out"
    )
    # A submitted attempt not graded this long is sent to the graders again.
    GRADING_RESEND_AFTER_SECONDS: int = Field(
        10, ge=1, description="A submitted attempt ungraded this long is sent to the graders again"
    )
    GRADING_SWEEP_SECONDS: int = Field(
        5, ge=1, description="How often beat looks for ungraded submitted attempts"
    )

    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of web and worker"
    )
    LOG_FORMAT: Literal["json", "text"] = Field(
        "json", description="Log lines as JSON or plain text"
    )
    MAX_CONTENT_LENGTH: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest request body in bytes"
    )
    IMPORT_MAX_BYTES: int = Field(
        5 * 1024 * 1024,
        ge=1024,
        description="Largest upload of a question or user import, in bytes",
    )
    IMPORT_MAX_UNCOMPRESSED_BYTES: int = Field(
        60 * 1024 * 1024,
        ge=1024,
        description="Largest import once uncompressed (a spreadsheet is a zip), in bytes",
    )
    IMPORT_MAX_ROWS: int = Field(10_000, ge=1, description="Most rows in one import")
    PROXY_FIX_X_FOR: int = Field(
        0,
        ge=0,
        le=5,
        description="Trusted proxies in front of the API setting X-Forwarded-For (0: none)",
    )
    # Browser origins allowed to call the API (comma-separated); none by default: the
    # bundled frontend is served from the same origin and needs no CORS.
    CORS_ORIGINS: str = Field(
        "", description="Comma-separated browser origins allowed to call the API; none by default"
    )

    DB_POOL_SIZE: int = Field(5, ge=1, description="Database connections each process keeps")
    DB_MAX_OVERFLOW: int = Field(
        10, ge=0, description="Extra database connections a process may open beyond the pool"
    )
    DB_POOL_TIMEOUT_SECONDS: float = Field(
        5.0, gt=0, description="Longest wait for a pooled database connection"
    )
    DB_CONNECT_TIMEOUT_SECONDS: int = Field(
        5, ge=1, description="Longest wait to connect to PostgreSQL"
    )
    DB_STATEMENT_TIMEOUT_MS: int = Field(
        15000, ge=100, description="PostgreSQL statement_timeout: a longer query fails"
    )
    # PostgreSQL is reached through PgBouncer in transaction pooling (docs/operations.md,
    # "PgBouncer"): PgBouncer refuses the `options` startup parameter, so the statement
    # timeout is set with SET LOCAL in each transaction instead (shared/db.py).
    DATABASE_PGBOUNCER: bool = Field(
        False,
        description="DATABASE_URL is PgBouncer in transaction pooling: timeout set per transaction",
    )
    SQLITE_BUSY_TIMEOUT_MS: int = Field(
        15000, ge=100, description="How long SQLite waits for a lock (embedded mode)"
    )
    BROKER_PUBLISH_TIMEOUT_SECONDS: float = Field(
        2.0, gt=0, description="Longest wait to connect to the broker when sending a task"
    )
    # Admission control (web/serving.py, docs/performance.md "Admission control"): each
    # gunicorn worker runs at most its `threads` requests at once and lets this many more
    # wait for a thread, each for at most ADMISSION_MAX_WAIT_MS; anything beyond is answered
    # at once with 503 `overloaded` and `Retry-After`. An autosave costs ~5 ms of CPU, so a
    # full queue of 16 clears in well under 100 ms and a short burst (a class starting at
    # once) is absorbed; the 100 ms cap leaves an admitted request's p99 room under the
    # 250 ms target for its own run time (4 threads share one core's GIL) even behind slow
    # requests; a refused request is answered in microseconds, or after 100 ms.
    ADMISSION_CONTROL: bool = Field(
        True, description="Refuse requests beyond each worker's budget (off: all queue)"
    )
    ADMISSION_QUEUE: int = Field(
        16, ge=0, le=10_000, description="Requests per worker that may wait for a thread"
    )
    ADMISSION_MAX_WAIT_MS: int = Field(
        100, ge=0, le=60_000, description="Longest a request waits for a thread, then 503"
    )

    # Failed logins only count against these: a whole class behind one NAT address
    # logging in at once never trips them; guessing one password does. Failures count per
    # account *and* address, so one client can't lock an account for everyone; the
    # per-account ceiling is high and short, to slow a guesser with many addresses.
    LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS: str = Field(
        "5 per 5 minutes", description="Failed logins allowed per account and client address"
    )
    LOGIN_FAILURES_PER_ACCOUNT: str = Field(
        "20 per minute", description="Failed logins allowed per account, from any address"
    )
    LOGIN_FAILURES_PER_ADDRESS: str = Field(
        "300 per minute", description="Failed logins allowed per client address"
    )
    REGISTER_PER_ADDRESS: str = Field(
        "1000 per hour", description="Self-registrations allowed per client address"
    )
    # Who may create their own account: `open`, `closed`, or a comma-separated list of
    # email domains (`school.example, staff.school.example`).
    SELF_REGISTRATION: str = Field(
        "open",
        description="Who may create an account: open, closed, or comma-separated email domains",
    )
    # Where people open the web client: the base of the links in emails.
    PUBLIC_URL: str = Field(
        "http://127.0.0.1:8000",
        description="Where people open the web client: the base of links in emails",
    )
    # How long a set-password or reset link works (at most a day).
    PASSWORD_LINK_SECONDS: int = Field(
        86400,
        ge=300,
        le=86400,
        description="How long a set-password or reset link works (at most a day)",
    )
    RESET_LINKS_PER_ACCOUNT: str = Field(
        "5 per hour", description="Password-reset emails allowed per account"
    )
    RESET_LINKS_PER_ADDRESS: str = Field(
        "100 per hour", description="Password-reset requests allowed per client address"
    )
    # Autosave every ~30 s plus typing debounce and retries stays far below this.
    AUTOSAVES_PER_ATTEMPT: str = Field(
        "120 per minute", description="Autosaves allowed per attempt"
    )
    # The lane in front of Flask (docs/performance.md): the same answers for far less CPU.
    # Off: every save and poll goes through the Flask routes (for an A/B, or a doubt).
    FAST_LANE: bool = Field(
        True,
        description="Answer well-formed autosaves and status polls before Flask's request "
        "machinery",
    )

    # LTI 1.3 tool (docs/lti.md). Every API process and worker must sign with the same key.
    LTI_PRIVATE_KEY_FILE: Path | None = Field(
        None,
        description="PEM RSA private key the LTI tool signs with (2048+ bits); unset: "
        "generated once under VAR_DIR in embedded mode, LTI off in server mode",
    )
    LTI_LOGIN_SECONDS: int = Field(
        600, ge=30, le=3600, description="How long an LTI login's state and nonce stay valid"
    )
    LTI_HANDOFF_SECONDS: int = Field(
        120, ge=10, le=900, description="How long the one-time code after an LTI launch lives"
    )
    LTI_HTTP_TIMEOUT_SECONDS: float = Field(
        10.0,
        gt=0,
        le=60,
        description="Timeout of each call to a platform (keys, tokens, AGS, NRPS)",
    )
    LTI_GRADE_SWEEP_SECONDS: int = Field(
        30, ge=1, le=3600, description="How often beat sends the LTI grade posts that are due"
    )

    # Observability (docs/operations.md, "Metrics and alerts"). With METRICS_TOKEN set,
    # /metrics and the worker's exporter want `Authorization: Bearer <token>`; unset, they
    # are open, as a private network's Prometheus expects.
    METRICS_TOKEN: SecretStr | None = Field(
        None, description="Bearer token /metrics and the worker exporter require; unset: open"
    )
    # The worker serves its own metrics (task outcomes, grading latency) on this port from
    # its main process, merged across its pool processes; unset: no exporter.
    WORKER_METRICS_PORT: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port of the worker's metrics exporter; unset: no exporter",
    )
    WORKER_METRICS_BIND: str = Field(
        "0.0.0.0",  # noqa: S104  (Prometheus scrapes from elsewhere)
        description="Address the worker's metrics exporter listens on",
    )
    # How often beat proves it is alive (exam_beat_heartbeat_timestamp_seconds).
    BEAT_HEARTBEAT_SECONDS: int = Field(
        30, ge=1, le=3600, description="How often beat proves it is alive (a heartbeat metric)"
    )
    # OpenTelemetry traces for Flask and Celery (the `otel` extra); the standard OTEL_*
    # variables (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT, ...) configure them.
    OTEL_ENABLED: bool = Field(
        False,
        description="OpenTelemetry traces for Flask and Celery (OTEL_* variables configure them)",
    )

    # Webhooks (docs/webhooks.md). Targets on internal addresses are refused unless listed.
    WEBHOOK_ALLOWED_HOSTS: str = Field(
        "",
        description="Webhook hosts allowed even on internal addresses and over http: "
        "comma-separated names or *.domain patterns",
    )
    WEBHOOK_TIMEOUT_SECONDS: float = Field(
        5.0, gt=0, le=60, description="How long one webhook POST may take before it is retried"
    )
    # Tests shrink the back-off (and the 24 h give-up) with this; 1 in production.
    WEBHOOK_RETRY_SCALE: float = Field(
        1.0, gt=0, le=1, description="Scale of webhook retry delays and give-up time (tests)"
    )
    WEBHOOK_SWEEP_SECONDS: int = Field(
        15, ge=1, le=3600, description="How often beat sends the webhook deliveries that are due"
    )
    # Publishing an event checks a per-process copy of the subscribed endpoints: a new
    # endpoint gets events from at most this long after it is created.
    WEBHOOK_ENDPOINTS_CACHE_SECONDS: float = Field(
        5.0, ge=0, le=300, description="How long a process trusts its copy of the endpoint list"
    )

    @field_validator("DATABASE_URL", "DATABASE_REPLICA_URL")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("postgres://"):  # Heroku-style URLs
            value = "postgresql://" + value.removeprefix("postgres://")
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {exc}") from None
        if url.get_backend_name() not in ("postgresql", "sqlite"):
            raise ValueError("only postgresql:// and sqlite:// are supported")
        if url.drivername == "postgresql":  # SQLAlchemy 2.1 would pick psycopg 3
            value = url.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
        return value

    @field_validator("REDIS_URL")
    @classmethod
    def _redis_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not value.startswith(("redis://", "rediss://")):
            raise ValueError("must start with redis:// or rediss://")
        base_db = _redis_db(value)
        single = info.data.get("REDIS_LAYOUT") == "single"
        if not single and base_db + max(REDIS_DB_OFFSETS.values()) > 15:
            raise ValueError("the db number must leave room for 4 dbs (use 0..12)")
        return value

    @field_validator("CORS_ORIGINS")
    @classmethod
    def _cors_origins(cls, value: str) -> str:
        for origin in filter(None, (o.strip() for o in value.split(","))):
            if (
                origin == "*"
                or not origin.startswith(("http://", "https://"))
                or origin.count("/") > 2
            ):
                raise ValueError(f"{origin!r} is not an origin like https://exams.school.example")
        return value

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.CORS_ORIGINS.split(",") if o.strip()]

    @field_validator("SELF_REGISTRATION")
    @classmethod
    def _self_registration(cls, value: str) -> str:
        value = value.strip().lower()
        if value in ("open", "closed"):
            return value
        domains = [d.strip() for d in value.split(",") if d.strip()]
        bad = [d for d in domains if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", d)]
        if not domains or bad:
            raise ValueError("must be open, closed, or comma-separated email domains")
        return ",".join(domains)

    @property
    def registration_domains(self) -> list[str] | None:
        """The email domains that may register; None: anyone (open), []: nobody (closed)."""
        if self.SELF_REGISTRATION == "open":
            return None
        if self.SELF_REGISTRATION == "closed":
            return []
        return self.SELF_REGISTRATION.split(",")

    @field_validator("WEBHOOK_ALLOWED_HOSTS")
    @classmethod
    def _webhook_allowed_hosts(cls, value: str) -> str:
        # A bare "*" would allow every internal address: refused, as are malformed entries.
        name = r"(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*"
        for entry in filter(None, (e.strip().lower().rstrip(".") for e in value.split(","))):
            ip = r"\d{1,3}(\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:.]*"
            if not (re.fullmatch(name, entry) or re.fullmatch(ip, entry)):
                raise ValueError(f"{entry!r} is not a host name, an IP address or *.domain")
        return value

    @field_validator("PUBLIC_URL")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def public_url(self) -> str:
        return self.PUBLIC_URL.rstrip("/")

    @field_validator("SMTP_URL")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("must start with smtp:// or smtps://")
        return value

    @model_validator(mode="after")
    def _finish(self) -> Settings:
        self.VAR_DIR = self.VAR_DIR.resolve()
        try:  # SQLite files, the beat schedule, mail and metrics files live here
            self.VAR_DIR.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"VAR_DIR {self.VAR_DIR} cannot be created: {exc}") from None
        if self.JWT_SECRET_KEY is not None:
            _check_jwt_secret(self.JWT_SECRET_KEY.get_secret_value())
        elif not self.embedded:
            raise ValueError(
                "JWT_SECRET_KEY must be set when DATABASE_URL or REDIS_URL is set "
                "(every API process must sign with the same key)"
            )
        for previous in filter(None, self.RECEIPT_PREVIOUS_PUBLIC_KEYS.split(",")):
            _check_receipt_key(previous, what="RECEIPT_PREVIOUS_PUBLIC_KEYS", files=False)
        if self.RECEIPT_SIGNING_KEY is not None:
            _check_receipt_key(self.RECEIPT_SIGNING_KEY.get_secret_value())
        elif not self.embedded:
            raise ValueError(
                "RECEIPT_SIGNING_KEY must be set when DATABASE_URL or REDIS_URL is set (every "
                "API process must sign receipts with the same key): generate one with "
                "python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'"
            )
        return self

    # Derived values: one place decides where everything lives.

    @property
    def embedded(self) -> bool:
        """True when everything runs from files under VAR_DIR with only Python installed."""
        return self.REDIS_URL is None and (
            self.DATABASE_URL is None or self.DATABASE_URL.startswith("sqlite")
        )

    @property
    def database_url(self) -> str:
        return self.DATABASE_URL or f"sqlite:///{self.VAR_DIR / 'exam.sqlite'}"

    def redis_prefix(self, role: str) -> str:
        """The key prefix of one concern's Redis keys (broker, results, cache, ratelimit):
        REDIS_KEY_PREFIX, and in the single layout the concern's own after it."""
        own = REDIS_ROLE_PREFIXES[role] if self.REDIS_LAYOUT == "single" else ""
        return self.REDIS_KEY_PREFIX + own

    def _redis_role_url(self, role: str) -> str:
        assert self.REDIS_URL is not None
        if self.REDIS_LAYOUT == "single":
            return self.REDIS_URL
        return _redis_with_offset(self.REDIS_URL, role)

    @property
    def broker_url(self) -> str:
        if self.CELERY_BROKER_URL:
            return self.CELERY_BROKER_URL
        if self.REDIS_URL:
            return self._redis_role_url("broker")
        return f"sqlfanout+sqlite:///{self.VAR_DIR / 'celery-broker.sqlite'}"

    @property
    def result_backend(self) -> str:
        if self.CELERY_RESULT_BACKEND:
            return self.CELERY_RESULT_BACKEND
        if self.REDIS_URL:
            return self._redis_role_url("results")
        return f"db+sqlite:///{self.VAR_DIR / 'celery-results.sqlite'}"

    @property
    def cache_url(self) -> str | None:
        """Redis for shared caches; None means a per-process memory cache."""
        if self.CACHE_URL:
            return self.CACHE_URL
        return self._redis_role_url("cache") if self.REDIS_URL else None

    @property
    def ratelimit_storage_url(self) -> str:
        if self.RATELIMIT_STORAGE_URL:
            return self.RATELIMIT_STORAGE_URL
        if self.REDIS_URL:
            return self._redis_role_url("ratelimit")
        return "memory://"

    @property
    def mail_dir(self) -> Path:
        """Where mail goes as .eml files when no SMTP_URL is set."""
        return self.VAR_DIR / "mail"

    def jwt_secret(self) -> str:
        """The signing key; in embedded mode generated once and kept under VAR_DIR."""
        if self.JWT_SECRET_KEY is not None:
            return self.JWT_SECRET_KEY.get_secret_value()
        path = self.VAR_DIR / "jwt-secret"
        if not path.exists():
            self.VAR_DIR.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{secrets.token_hex(4)}")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            try:  # link fails if another process won the race; both then read its key
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()

    def receipt_signing_key(self) -> str:
        """The receipt key as configured (base64 or a PEM path); in embedded mode generated
        once and kept under VAR_DIR, like the JWT secret."""
        if self.RECEIPT_SIGNING_KEY is not None:
            return self.RECEIPT_SIGNING_KEY.get_secret_value()
        path = self.VAR_DIR / "receipt-signing-key"
        if not path.exists():
            self.VAR_DIR.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{secrets.token_hex(4)}")
            tmp.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
            tmp.chmod(0o600)
            try:  # link fails if another process won the race; both then read its key
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()


# How the placeholders of examples and tutorials begin (.env.example's is
# "change-me-to-32-or-more-random-characters"): anyone could sign tokens with them.
PLACEHOLDER_PREFIXES = ("change", "replace", "example", "placeholder", "your-", "your_")
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT = 12


def _check_jwt_secret(secret: str) -> None:
    """Refuse a signing key someone could guess: short, a placeholder, or so repetitive it
    carries little randomness (`xxxx...`)."""
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"JWT_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
    if secret.strip().lower().startswith(PLACEHOLDER_PREFIXES):
        raise ValueError(
            "JWT_SECRET_KEY is a placeholder: generate one with "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if len(set(secret)) < MIN_SECRET_DISTINCT:
        raise ValueError("JWT_SECRET_KEY is too repetitive to be random: generate a new one")


def _check_receipt_key(
    material: str, what: str = "RECEIPT_SIGNING_KEY", *, files: bool = True
) -> None:
    """Base64 of 32 bytes, or a file (a PEM the receipts module reads when it first signs)."""
    try:
        if len(base64.b64decode(material.strip(), validate=True)) == 32:
            return
    except ValueError:
        pass
    if not files:
        raise ValueError(f"{what} must be base64 of 32 bytes each")
    if not Path(material.strip()).is_file():
        raise ValueError(f"{what} must be base64 of 32 bytes or a PEM file's path")


def _redis_db(url: str) -> int:
    path = url.split("://", 1)[1].split("?", 1)[0]
    db = path.split("/", 1)[1] if "/" in path else ""
    if db and not db.isdigit():
        raise ValueError("the path of REDIS_URL must be a db number")
    return int(db or 0)


def _redis_with_offset(url: str, purpose: str) -> str:
    scheme, rest = url.split("://", 1)
    rest, _, query = rest.partition("?")
    host = rest.split("/", 1)[0]
    db = _redis_db(url) + REDIS_DB_OFFSETS[purpose]
    return f"{scheme}://{host}/{db}" + (f"?{query}" if query else "")


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, exiting with a clear message if one is bad."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            lines.append(f"  {name}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError("Invalid configuration:\n" + "\n".join(lines)) from None


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, loaded on first use."""
    return load_settings()
