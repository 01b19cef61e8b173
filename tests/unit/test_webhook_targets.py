"""Webhook targets: which URLs and addresses we refuse (SSRF), checked with literal IPs and
a resolver the test passes in, and a POST that dials the checked address."""

from __future__ import annotations

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.config import ConfigError, load_settings
from shared.events import http, signing
from shared.events.targets import (
    RefusedTarget,
    allowed_patterns,
    check_url,
    host_is_allowed,
    is_public,
)


def resolver_of(mapping: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        return mapping[host]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250", "240.0.0.1",  # noqa: S104
        "255.255.255.255", "192.0.2.1", "198.18.0.1", "::1", "::", "fe80::1", "fc00::1",
        "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
        "::ffff:169.254.169.254", "2002:7f00:1::", "64:ff9b::a9fe:a9fe", "2001:db8::1",
    ],
)  # fmt: skip
def test_internal_addresses_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are(address):
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook", "https://[::1]/hook", "https://[::ffff:127.0.0.1]/",
        "https://169.254.169.254/latest/meta-data", "https://10.0.0.5:8443/x",
        "https://[fe80::1]/", "https://0.0.0.0/",
    ],
)  # fmt: skip
def test_literal_internal_urls_are_refused_with_a_reason(url):
    with pytest.raises(RefusedTarget) as refused:
        check_url(url, [], resolver_of({}))
    assert "internal address" in refused.value.reason
    assert refused.value.code == "validation_error"
    assert refused.value.errors == {"url": [refused.value.reason]}


def test_a_name_is_refused_if_any_of_its_addresses_is_internal():
    resolve = resolver_of({"hooks.example.org": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(RefusedTarget, match=r"10\.0\.0\.7"):
        check_url("https://hooks.example.org/in", [], resolve)


def test_a_public_name_passes_with_every_address_to_dial():
    resolve = resolver_of({"hooks.example.org": ["93.184.215.14", "2606:4700:4700::1111"]})
    target = check_url("https://hooks.example.org:8443/in?x=1", [], resolve)
    assert target.host == "hooks.example.org" and target.port == 8443
    assert target.addresses == ("93.184.215.14", "2606:4700:4700::1111")


def test_http_is_refused_unless_the_host_is_allowed():
    resolve = resolver_of({"hooks.example.org": ["93.184.215.14"], "rx.lan": ["10.0.0.9"]})
    with pytest.raises(RefusedTarget, match="https is required"):
        check_url("http://hooks.example.org/in", [], resolve)
    allowed = allowed_patterns("rx.lan, *.corp.example")
    assert check_url("http://rx.lan:9000/in", allowed, resolve).addresses == ("10.0.0.9",)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/", "file:///etc/passwd", "https:///nohost", "https://u:p@example.org/",
     "https://example.org:99999/", "gopher://x", "https://example.org/#frag"],
)  # fmt: skip
def test_malformed_urls_are_refused(url):
    with pytest.raises(RefusedTarget):
        check_url(url, [], resolver_of({"example.org": ["93.184.215.14"]}))


def test_allow_list_patterns_match_subdomains_not_lookalikes():
    patterns = allowed_patterns("Receiver.LAN,*.corp.example,127.0.0.1")
    assert host_is_allowed("receiver.lan", patterns)
    assert host_is_allowed("a.b.corp.example", patterns)
    assert host_is_allowed("127.0.0.1", patterns)
    assert not host_is_allowed("corp.example", patterns)
    assert not host_is_allowed("evilcorp.example", patterns)
    assert not host_is_allowed("receiver.lan.evil.org", patterns)
    assert not host_is_allowed("127.0.0.2", patterns)


def test_signature_is_hmac_sha256_of_the_raw_body():
    body = b'{"id":"1","type":"attempt.graded"}'
    # Computed independently: printf %s "$body" | openssl dgst -sha256 -hmac s3cret
    expected = "sha256=" + __import__("hmac").new(b"s3cret", body, "sha256").hexdigest()
    assert signing.signature("s3cret", body) == expected
    assert signing.verify("s3cret", body, expected)
    assert not signing.verify("other", body, expected)
    assert not signing.verify("s3cret", body + b" ", expected)


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers["Content-Length"])
        _Recorder.seen.append((self.path, self.headers["Host"], self.rfile.read(length)))
        self.send_response(302 if self.path == "/moved" else 204)
        self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    _Recorder.seen.clear()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_post_dials_the_checked_address_and_names_the_host(receiver):
    # "hooks.test" resolves nowhere but in this resolver: the POST can only reach the
    # server through the address that was checked, never by resolving the name again.
    resolve = resolver_of({"hooks.test": ["127.0.0.1"]})
    target = check_url(f"http://hooks.test:{receiver}/in", ["hooks.test"], resolve)
    answer = http.post(target, b"{}", {"X-Exam-Event": "attempt.graded"}, timeout=5)
    assert answer.status_code == 204 and answer.ok
    assert _Recorder.seen == [("/in", f"hooks.test:{receiver}", b"{}")]


def test_a_redirect_is_not_followed(receiver):
    target = check_url(f"http://127.0.0.1:{receiver}/moved", ["127.0.0.1"])
    answer = http.post(target, b"{}", {}, timeout=5)
    assert answer.status_code == 302 and not answer.ok
    assert [path for path, _, _ in _Recorder.seen] == ["/moved"]


def test_an_unreachable_receiver_is_an_answer_without_a_status():
    target = check_url("http://127.0.0.1:1/in", ["127.0.0.1"])
    answer = http.post(target, b"{}", {}, timeout=2)
    assert answer.status_code is None and "Connection" in (answer.error or "")


@pytest.mark.parametrize("value", ["*", "*.", "http://rx.lan", "rx.lan/in", "a..b", "*.*.lan"])
def test_a_malformed_allow_list_stops_the_start(value, tmp_path):
    with pytest.raises(ConfigError, match="WEBHOOK_ALLOWED_HOSTS"):
        load_settings(WEBHOOK_ALLOWED_HOSTS=value, VAR_DIR=tmp_path)


def test_a_good_allow_list_loads(tmp_path):
    value = "rx.lan, *.corp.example,127.0.0.1,::1,receiver"
    assert load_settings(WEBHOOK_ALLOWED_HOSTS=value, VAR_DIR=tmp_path).WEBHOOK_ALLOWED_HOSTS
