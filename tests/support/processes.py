"""Starting and stopping real processes (gunicorn, Celery worker and beat) for tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def fresh_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a new user: none of our settings set (the test session sets them),
    everything under `var_dir`, output unbuffered so the logs are whole when a test fails."""
    from shared.config import Settings

    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env.update(VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", **extra)
    return env


class Processes:
    """Starts processes in their own process groups and stops them (and their children)."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        with (self.log_dir / f"{name}.log").open("ab") as log:  # the child keeps its own fd
            process = subprocess.Popen(
                [str(BIN / args[0]), *args[1:]],
                cwd=ROOT,
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running.append((name, process))
        return process

    def worker(self, name: str = "worker", **env: str) -> subprocess.Popen[bytes]:
        return self.start(
            name, "celery", "-A", "worker", "worker", "-Q", "grading,bulk,default",
            "--concurrency", "2", "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
            **env,
        )  # fmt: skip

    def beat(self, name: str = "beat", **env: str) -> subprocess.Popen[bytes]:
        schedule = str(self.log_dir / f"{name}-schedule")
        return self.start(name, "celery", "-A", "worker", "beat", "-s", schedule, **env)

    def stop(self, process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        if process.poll() is None:
            os.killpg(process.pid, sig)
        self._reap(process)

    @staticmethod
    def _reap(process: subprocess.Popen[bytes]) -> None:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def terminate_main(self, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
        """SIGTERM to the main process only, as Docker or systemd stop a service; waits."""
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=timeout)

    def stop_all(self) -> None:
        # All told at once, then waited for: each one's graceful shutdown (gunicorn's, a
        # worker's warm one) runs beside the others' instead of after them.
        for _, process in self.running:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):  # its group already gone
                    os.killpg(process.pid, signal.SIGTERM)
        for _, process in self.running:
            self._reap(process)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in self.log_dir.glob("*.log")
        )


def wait_until(check, timeout: float, what: str, interval: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
