"""Private servers a test may stop and restart: Redis, PostgreSQL, PgBouncer, and an SMTP
inbox."""

from __future__ import annotations

import contextlib
import gc
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy.engine import make_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not start within {timeout}s")


class RedisServer:
    """redis-server on a port of its own, without persistence (a restart loses the queue)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        _wait(self.pings, 10, "redis")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()
            self.process = None

    def pings(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if found is None:
        raise RuntimeError(f"{name} not found: install PostgreSQL (make test does)")
    return found


class PostgresServer:
    """A throw-away PostgreSQL cluster (initdb) on its own port, which a test may restart."""

    def __init__(self, *, durable: bool = False, settings: dict[str, str] | None = None) -> None:
        # Its own directory: pytest's temporary dirs are private to root, and the cluster
        # runs as the postgres user when we are root.
        self.root = Path(tempfile.mkdtemp(prefix="exam-pg-"))
        # Tests trade durability for speed; benchmarks keep fsync on, like production.
        self.durable = durable
        self.settings = settings or {}
        self.data = self.root / "pgdata"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/exam"

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def init(self) -> None:
        if self.as_postgres:
            shutil.chown(self.root, "postgres")
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync")  # fmt: skip
        self.start()
        subprocess.run(
            [
                _pg_bin("createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "exam",
            ],
            check=True,
        )

    def _ctl(self, action: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off"
        options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "postgres.log"), "-m", "fast", "-w", action)  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop")

    def restart(self) -> None:
        self._ctl("restart")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def streaming_replica(primary: PostgresServer) -> PostgresServer:
    """A hot standby of `primary` (pg_basebackup -R: streaming replication), started."""
    replica = PostgresServer(settings={"hot_standby": "on"})
    if replica.as_postgres:
        shutil.chown(replica.root, "postgres")
    source = ["-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]
    # A fast checkpoint: the default spreads it out, which stalls a test for a minute.
    replica._run(_pg_bin("pg_basebackup"), "-D", str(replica.data), "-R", "-X", "stream",
                 "--checkpoint=fast", "--no-sync", *source)  # fmt: skip
    replica.start()
    return replica


class PgBouncerServer:
    """PgBouncer on a port of its own in front of one PostgreSQL database, transaction
    pooling by default (docs/operations.md, "PgBouncer")."""

    def __init__(
        self,
        database_url: str,
        *,
        pool_mode: str = "transaction",
        pool_size: int = 4,
        settings: dict[str, str] | None = None,
    ) -> None:
        target = make_url(database_url)
        self.target = target
        self.pool_mode = pool_mode
        self.pool_size = pool_size
        self.settings = settings or {}
        self.root = Path(tempfile.mkdtemp(prefix="exam-pgbouncer-"))
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0  # pgbouncer refuses to run as root
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The same database as the target's, through PgBouncer."""
        return self.target.set(host="127.0.0.1", port=self.port).render_as_string(
            hide_password=False
        )

    def _write_config(self) -> Path:
        t = self.target
        database = t.database or "postgres"
        user = t.username or "postgres"
        (self.root / "users.txt").write_text(f'"{user}" "{t.password or ""}"\n')
        lines = [
            "[databases]",
            f"{database} = host={t.host or '127.0.0.1'} port={t.port or 5432} "
            f"dbname={database} user={user}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {self.port}",
            f"unix_socket_dir = {self.root}",
            "auth_type = trust",
            f"auth_file = {self.root / 'users.txt'}",
            f"pool_mode = {self.pool_mode}",
            f"default_pool_size = {self.pool_size}",
            "max_client_conn = 200",
            f"logfile = {self.root / 'pgbouncer.log'}",
            f"pidfile = {self.root / 'pgbouncer.pid'}",
            *(f"{name} = {value}" for name, value in self.settings.items()),
        ]
        path = self.root / "pgbouncer.ini"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> None:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not os.path.exists(binary):
            raise RuntimeError("pgbouncer not found: install it (make test does)")
        config = self._write_config()
        command = [binary, str(config)]
        if self.as_postgres:
            shutil.chown(self.root, "postgres")
            for child in self.root.iterdir():
                shutil.chown(child, "postgres")
            command = ["runuser", "-u", "postgres", "--", *command]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        _wait(self._listening, 10, "pgbouncer")

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"pgbouncer exited: {self.log()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def log(self) -> str:
        path = self.root / "pgbouncer.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)


class SmtpInbox:
    """A real SMTP server (aiosmtpd) that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=free_port())

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self._controller.port}"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def __enter__(self) -> SmtpInbox:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
        # A client killed mid-session (the fault drills SIGKILL workers) leaves its server-side
        # socket open; collect those here rather than as warnings at some later test.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
