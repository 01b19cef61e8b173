"""Browser fixtures: the real stack (gunicorn, a Celery worker and beat) against the run's
PostgreSQL and Redis, and Debian's Chromium driven by Playwright, one fresh profile per test.

Every page is watched: an uncaught script error or a Content-Security-Policy violation fails
the test. Screenshots go to docs/screenshots/ when UPDATE_SCREENSHOTS=1 (so a normal run
leaves the work tree alone), otherwise to the test's temporary folder."""

from __future__ import annotations

import gc
import os
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.factories import DEFAULT_PASSWORD, Account
from tests.support.http import answers, send
from tests.support.processes import ROOT, Processes, wait_until
from tests.support.servers import free_port

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the background-networking flags Chromium dials out (updates, sync) on start.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 360, "height": 740}
SCREENSHOTS = ROOT / "docs" / "screenshots"
A11Y_SCRIPT = (Path(__file__).parent / "a11y.js").read_text()


@dataclass
class Stack:
    """The processes a school runs: gunicorn serving the API and the client, worker, beat."""

    procs: Processes
    url: str = ""

    def start(self, *, worker: bool = True, beat: bool = False, **env: str) -> Stack:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.procs.start("web", "gunicorn", "-c", "deploy/gunicorn.conf.py", "web:create_app()",
                         API_BIND=f"127.0.0.1:{port}", **env)  # fmt: skip
        if worker:
            self.procs.worker(**env)
        if beat:
            self.procs.beat(**env)
        wait_until(self.healthy, 30, "gunicorn")
        return self

    def healthy(self) -> bool:
        return answers(f"{self.url}/healthz")

    def api(self, method: str, path: str, account: Account | None = None, **kwargs):  # type: ignore[no-untyped-def]
        """Call the API as someone (for what the test does outside the browser)."""
        headers = kwargs.pop("headers", {})
        if account is not None:
            headers["Authorization"] = f"Bearer {self.token(account)}"
        timeout = kwargs.pop("timeout", 30)
        url = f"{self.url}/api/v1{path}"
        return send(requests, method, url, headers=headers, timeout=timeout, **kwargs)

    def token(self, account: Account) -> str:
        response = send(
            requests,
            "POST",
            f"{self.url}/api/v1/auth/login",
            json={"email": account.email, "password": account.password},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["access_token"]


@pytest.fixture(autouse=True)
def _collect_what_earlier_tests_left_open() -> None:
    """Collect garbage from earlier tests in this process (e.g. werkzeug's temporary upload
    files from test-client requests never closed) before a browser test starts. Playwright
    allocates a lot, so the collection would otherwise land inside a browser test, and under
    `filterwarnings = error` the ResourceWarning would fail the wrong test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture
def stack(settings, committed, tmp_path) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    """Started by the test (`stack.start(...)`) with the settings it needs; stopped after,
    before `committed` truncates the tables."""
    env = {**os.environ, "VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    procs = Processes(tmp_path, env)
    try:
        yield Stack(procs)
    finally:
        procs.stop_all()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator:  # type: ignore[type-arg]
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as driver:
        yield driver


@dataclass
class Browser:
    """One Chromium profile; pages opened here are watched for script errors and CSP."""

    context: object
    shots: Path
    problems: list[str] = field(default_factory=list)

    def new_page(self, url: str | None = None):  # type: ignore[no-untyped-def]
        page = self.context.new_page()  # type: ignore[attr-defined]
        page.set_default_timeout(15000)
        page.on("pageerror", lambda exc: self.problems.append(f"script error: {exc}"))
        page.on("console", self._console)
        if url:
            page.goto(url)
        return page

    def _console(self, message) -> None:  # type: ignore[no-untyped-def]
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.problems.append(f"CSP: {message.text}")

    def screenshot(self, page, name: str, *, full_page: bool = False, element=None) -> Path:  # type: ignore[no-untyped-def]
        """The page (or just `element`, a locator: one section of a long page)."""
        path = self.shots / f"{name}.png"
        if element is not None:
            element.screenshot(path=str(path), animations="disabled")
        else:
            page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SCREENSHOTS / path.name)
        return path


@pytest.fixture
def browser(playwright_driver, tmp_path) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    profile = tmp_path / "chromium-profile"
    context = playwright_driver.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=DESKTOP,
        locale="en-GB",
        timezone_id="Europe/London",
        accept_downloads=True,
    )
    shots = tmp_path / "screenshots"
    shots.mkdir()
    watched = Browser(context, shots)
    try:
        yield watched
    finally:
        context.close()
    assert watched.problems == [], watched.problems


def sign_in(page, account: Account, password: str = DEFAULT_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Sign in with the keyboard only: tab to each field, type, press Enter."""
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_label("Email").focus()
    page.keyboard.type(account.email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "password"  # focus order
    page.keyboard.type(password)
    page.keyboard.press("Enter")


def accessibility_problems(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Unlabelled controls, nameless buttons and links, and text below 4.5:1 contrast."""
    return page.evaluate(A11Y_SCRIPT)


def fits_the_screen(page) -> bool:  # type: ignore[no-untyped-def]
    """No sideways scrolling of the page itself (wide tables scroll inside their box)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
