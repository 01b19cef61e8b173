"""The client's shell and files, checked without a browser: served at `/` under the strict
CSP, every file it names exists, and no script relies on what that CSP forbids."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.processes import ROOT

APP = ROOT / "web" / "static" / "app"
# What the CSP (no 'unsafe-inline', no 'unsafe-eval') would block, or what bypasses the
# text-only DOM helpers: HTML from strings and inline styles in markup.
FORBIDDEN = {
    "innerHTML / outerHTML / insertAdjacentHTML": re.compile(
        r"\b(inner|outer)HTML\b|insertAdjacentHTML"
    ),
    "eval / new Function / string timers": re.compile(
        r"\beval\(|new Function\(|setTimeout\(\s*['\"`]"
    ),
    "style attributes": re.compile(r"setAttribute\(\s*['\"]style|\bstyle=|cssText"),
    "document.write": re.compile(r"document\.write"),
    # (The SVG namespace and RFC 2606 `.example` hosts in placeholders load nothing.)
    "a CDN or any other origin": re.compile(
        r"https?://(?!www\.w3\.org/2000/svg)(?![a-z0-9.-]*\.example[/'\"])"
    ),
}


def test_the_shell_is_served_at_the_root_under_the_strict_csp(app):
    response = app.test_client().get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe" not in csp
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "style=" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    for path in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        asset = app.test_client().get(path)
        assert asset.status_code == 200, path
        asset.close()


def test_every_module_is_served_with_a_javascript_type(app):
    client = app.test_client()
    for path in APP.rglob("*.js"):
        response = client.get(f"/static/app/{path.relative_to(APP)}")
        assert response.status_code == 200
        assert response.mimetype in ("text/javascript", "application/javascript"), path
        response.close()


def test_no_script_or_stylesheet_needs_what_the_csp_forbids():
    found = []
    for path in [*APP.rglob("*.js"), *APP.rglob("*.css"), ROOT / "web/templates/app.html"]:
        text = path.read_text()
        found += [f"{path.relative_to(ROOT)}: {what}" for what, rx in FORBIDDEN.items()
                  if rx.search(text)]  # fmt: skip
    assert found == []


def test_modules_stay_small():
    sizes = {p.name: len(p.read_text().splitlines()) for p in APP.rglob("*.js")}
    assert max(sizes.values()) <= 400, sizes


def test_every_import_resolves():
    for path in APP.rglob("*.js"):
        for target in re.findall(r"from '(\.[^']+)'", path.read_text()):
            assert (path.parent / target).resolve().is_file(), f"{path}: {target}"


def _unused(path: Path) -> list[str]:
    text = path.read_text()
    names = []
    for group in re.findall(r"import \{([^}]+)\} from", text):
        names += [n.strip() for n in group.split(",") if n.strip()]
    body = re.sub(r"import \{[^}]+\} from '[^']+';", "", text)
    return [n for n in names if not re.search(rf"\b{re.escape(n)}\b", body)]


def test_no_module_imports_what_it_does_not_use():
    unused = {str(p.relative_to(APP)): _unused(p) for p in APP.rglob("*.js")}
    assert {k: v for k, v in unused.items() if v} == {}
