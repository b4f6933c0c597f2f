"""The WARC's completeness, provenance (DNS, TLS chains, IDN) and the clean-environment check.

Real Chromium against local sites: a page on 127.0.0.1 with a cross-site
iframe from ``localhost`` that POSTs text and binary bodies, and the demo
site over HTTPS with a throw-away test CA that nothing trusts. Captures are
shared per module; the environment checks run against a real local SNTP
server on UDP.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from capture import _environment as environment
from capture import capture_page
from capture._provenance import host_names, https_origins, resolve_hosts
from capture._tls import fetch_chain, verify_chain
from evidence.model.capture_options import (
    CaptureOptions,
    CheckPolicy,
    EnvironmentOptions,
    SafetyOptions,
)
from evidence.model.capture_record import CaptureRecord
from evidence.model.errors import CaptureError
from evidence.model.manifest import canonical_json, capture_from_json, capture_to_json
from evidence.services.demo_site import DemoSite
from tests.sites.frames import (
    BULK_POST_BODY,
    CHILD_CSS,
    CHILD_IMAGE,
    CHILD_POST_BODY,
    PARENT_POST_BODY,
    FramedSite,
)
from tests.sites.tls import HttpsDemoSite, Pki, make_pki
from tests.warc_reading import WarcRecord, read_warc

SITE = DemoSite.root
NO_NTP: tuple[str, ...] = ()
"""Captures in this module do not wait on outside NTP servers (none are reachable)."""


@dataclass(frozen=True)
class Captured:
    record: CaptureRecord
    workdir: Path
    warc: list[WarcRecord]

    def file(self, role: str) -> Path:
        return next(f.path for f in self.record.files if f.role == role)

    def records(self, rec_type: str, uri: str) -> list[WarcRecord]:
        return [r for r in self.warc if r.rec_type == rec_type and r.uri == uri]

    def metadata_json(self, prefix: str) -> Any:
        (block,) = [r for r in self.warc if r.rec_type == "metadata" and r.uri.startswith(prefix)]
        return json.loads(block.payload)


def capture(url: str, workdir: Path, **safety: Any) -> Captured:
    options = CaptureOptions(
        safety=SafetyOptions(allow_private_targets=True, **safety),
        environment=EnvironmentOptions(ntp_servers=NO_NTP),
    )
    record = capture_page(url, workdir, options)
    return Captured(record, workdir, read_warc(workdir / "capture.warc"))


# --- sites -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def framed_site() -> Iterator[FramedSite]:
    with FramedSite() as site:
        yield site


@pytest.fixture(scope="module")
def framed(framed_site: FramedSite, tmp_path_factory: pytest.TempPathFactory) -> Captured:
    return capture(framed_site.parent_url, tmp_path_factory.mktemp("framed"))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def https_site(pki: Pki) -> Iterator[HttpsDemoSite]:
    with HttpsDemoSite(pki) as site:
        yield site


@pytest.fixture(scope="module")
def https_capture(https_site: HttpsDemoSite, tmp_path_factory: pytest.TempPathFactory) -> Captured:
    return capture(https_site.url_for("/gbk.html"), tmp_path_factory.mktemp("https"))


# --- cross-site iframe and request bodies ---------------------------------------------


@pytest.mark.slow
def test_cross_site_iframe_subresources_are_in_the_warc(
    framed: Captured, framed_site: FramedSite
) -> None:
    child = f"http://localhost:{framed_site.child.port}/"
    (css,) = framed.records("response", child + "child.css")
    (image,) = framed.records("response", child + "child.png")
    (page,) = framed.records("response", framed_site.child_url)
    assert css.payload == CHILD_CSS
    assert image.payload == CHILD_IMAGE
    assert b"Cross-site child frame" in page.payload
    assert image.header("WARC-IP-Address") == "127.0.0.1"


@pytest.mark.slow
def test_post_request_bodies_are_recorded_byte_for_byte(
    framed: Captured, framed_site: FramedSite
) -> None:
    (search,) = framed.records("request", framed_site.parent_url.replace("frame.html", "search"))
    upload_url = f"http://localhost:{framed_site.child.port}/upload"
    (upload,) = framed.records("request", upload_url)
    assert search.payload == PARENT_POST_BODY
    assert upload.payload == CHILD_POST_BODY
    # What the servers received is what the WARC says was sent.
    assert ("/search", PARENT_POST_BODY) in framed_site.parent.posted
    assert ("/upload", CHILD_POST_BODY) in framed_site.child.posted
    (response,) = framed.records("response", upload_url)
    assert response.payload == f"got {len(CHILD_POST_BODY)}".encode()


@pytest.mark.slow
def test_large_and_multipart_request_bodies_are_complete(
    framed: Captured, framed_site: FramedSite
) -> None:
    base = framed_site.parent_url.replace("frame.html", "")
    (bulk,) = framed.records("request", base + "bulk")
    (form,) = framed.records("request", base + "form")
    assert bulk.payload == BULK_POST_BODY
    received = dict(framed_site.parent.posted)
    assert form.payload == received["/form"]
    assert "证据".encode() in form.payload and BULK_POST_BODY[:300] in form.payload


@pytest.mark.slow
def test_warc_records_are_linked_to_warcinfo_and_page(
    framed: Captured, framed_site: FramedSite
) -> None:
    info = framed.warc[0]
    assert info.rec_type == "warcinfo"
    info_id = info.header("WARC-Record-ID")
    assert all(r.header("WARC-Warcinfo-ID") == info_id for r in framed.warc[1:])
    (page,) = framed.records("response", framed_site.parent_url)
    made = [r for r in framed.warc if r.rec_type in ("resource", "metadata")]
    assert all(r.uri.startswith("urn:evidence:") for r in made)
    kinds = {r.uri.split(":", 3)[2] for r in made}
    assert kinds >= {"screenshot", "dom", "mhtml", "print-pdf", "network-log", "environment"}
    assert all(r.header("WARC-Concurrent-To") == page.header("WARC-Record-ID") for r in made)


@pytest.mark.slow
def test_warcio_check_passes_with_metadata_and_resources(framed: Captured) -> None:
    warcio = Path(sys.executable).with_name("warcio")
    result = subprocess.run(
        [str(warcio), "check", "-v", str(framed.file("warc"))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest pass" in result.stdout


# --- MHTML and printed PDF ---------------------------------------------------------------


@pytest.mark.slow
def test_mhtml_and_pdf_are_artifacts_and_resource_records(framed: Captured) -> None:
    files = {f.role: f for f in framed.record.files}
    mhtml, pdf = files["mhtml"], files["print-pdf"]
    assert (mhtml.name, mhtml.media_type) == ("page.mhtml", "multipart/related")
    assert (pdf.name, pdf.media_type) == ("page.pdf", "application/pdf")
    mhtml_bytes = mhtml.path.read_bytes()
    assert mhtml_bytes.startswith(b"From: <Saved by Blink>")
    assert b"multipart/related" in mhtml_bytes[:1000]
    # The cross-site frame is inside the snapshot too.
    assert b"child.html" in mhtml_bytes
    assert pdf.path.read_bytes().startswith(b"%PDF-")
    final = framed.record.page.final_url
    (mhtml_record,) = framed.records("resource", f"urn:evidence:mhtml:{final}")
    (pdf_record,) = framed.records("resource", f"urn:evidence:print-pdf:{final}")
    assert mhtml_record.payload == mhtml_bytes
    assert mhtml_record.header("Content-Type") == "multipart/related"
    assert pdf_record.payload == pdf.path.read_bytes()


# --- network log, DNS, environment in the WARC -------------------------------------------


@pytest.mark.slow
def test_network_log_metadata_lists_requests_and_dns(
    framed: Captured, framed_site: FramedSite
) -> None:
    log = framed.metadata_json("urn:evidence:network-log:")
    assert log["format"] == "evidence-toolkit/network-log/v1"
    urls = {hop["url"] for entry in log["requests"] for hop in entry["hops"]}
    assert framed_site.child_url in urls
    assert framed_site.parent_url in urls
    hosts = {h["host"]: h for h in log["dns"]["hosts"]}
    assert "127.0.0.1" in hosts["localhost"]["addresses"]
    assert hosts["127.0.0.1"]["addresses"] == ["127.0.0.1"]
    assert "OS resolver" in log["dns"]["note"]


@pytest.mark.slow
def test_record_carries_hosts_and_environment(framed: Captured) -> None:
    record = framed.record
    hosts = {h.host: h for h in record.provenance.hosts}
    assert set(hosts) == {"127.0.0.1", "localhost"}
    assert hosts["localhost"].unicode_host == "localhost"
    assert "127.0.0.1" in hosts["localhost"].addresses
    assert record.provenance.tls == ()  # plain HTTP: no chains, no tls-chains.json
    assert not any(f.role == "tls-chains" for f in record.files)
    assert record.provenance.capture_host == socket.gethostname()
    assert record.provenance.outbound_ip == "127.0.0.1"
    names = [c.name for c in record.environment.checks]
    assert names == [
        "clock",
        "proxy_environment",
        "hosts_file",
        "dns_servers",
        "outbound_ip",
        "software",
        "browser",
        "browser_proxy",
        "browser_profile",
    ]
    assert {c.status for c in record.environment.checks} <= {"pass", "warn", "fail", "not_checked"}
    clock = record.environment.checks[0]
    assert (clock.status, record.environment.clock_offset_ms) == ("warn", None)
    assert clock.detail.startswith("the clock could not be checked against any source")


@pytest.mark.slow
def test_environment_json_is_an_artifact_and_in_the_warc(framed: Captured) -> None:
    path = framed.file("environment")
    document = json.loads(path.read_bytes())
    assert document == framed.metadata_json("urn:evidence:environment:")
    assert document["format"] == "evidence-toolkit/environment/v1"
    checks = [(c["name"], c["status"], c["detail"]) for c in document["checks"]]
    assert checks == [(c.name, c.status, c.detail) for c in framed.record.environment.checks]
    browser = document["browser"]
    assert browser["version"].startswith(framed.record.provenance.browser_version.split(".")[0])
    assert "--disable-extensions" in browser["command_line"]
    assert "--disable-background-networking" in browser["command_line"]
    profile = document["browser_profile"]
    assert profile["extensions"] == [] and profile["extensions_disabled"] is True
    status = {c.name: c for c in framed.record.environment.checks}
    assert status["browser_profile"].status == "pass", status["browser_profile"].detail
    assert profile["user_data_dir"] in status["browser_profile"].detail
    assert document["hosts_file"]["sha256"] == _sha256(environment.HOSTS_FILE)
    assert document["software"]["dependencies"]["playwright"]
    assert document["outbound"]["local_address"] == "127.0.0.1"


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_manifest_form_round_trips_new_fields(framed: Captured) -> None:
    data = capture_to_json(framed.record)
    # The manifest is canonical JSON: integers and strings, never floats.
    _assert_no_floats(data)
    assert {c["name"] for c in data["environment"]} >= {"clock", "browser_profile"}
    assert data["hosts"][0] == {
        "host": "127.0.0.1",
        "unicode_host": "127.0.0.1",
        "addresses": ["127.0.0.1"],
        "error": None,
    }
    back = capture_from_json(json.loads(canonical_json(data)))
    assert back.provenance.hosts == framed.record.provenance.hosts
    assert back.environment == framed.record.environment
    assert back.provenance.outbound_ip == framed.record.provenance.outbound_ip
    assert back.provenance.capture_host == framed.record.provenance.capture_host


def _assert_no_floats(value: Any) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _assert_no_floats(item)
    elif isinstance(value, list):
        for item in value:
            _assert_no_floats(item)
    else:
        assert not isinstance(value, float), value


# --- HTTPS with an untrusted test CA ---------------------------------------------------


@pytest.mark.slow
def test_https_capture_proceeds_and_records_the_certificate_error(
    https_capture: Captured, https_site: HttpsDemoSite
) -> None:
    record = https_capture.record
    assert record.page.http_status == 200
    (origin,) = record.provenance.tls
    assert origin.origin == https_site.url.rstrip("/")
    assert origin.certificate_error is not None
    assert "not trusted" in origin.certificate_error
    assert any(
        w.startswith(f"TLS certificate of {origin.origin}: certificate chain not trusted")
        for w in record.warnings
    )
    assert origin.protocol.upper().startswith("TLS")
    assert origin.cipher
    assert origin.subject == "CN=127.0.0.1,O=Evidence Toolkit Tests"
    assert origin.issuer.startswith("CN=Evidence Toolkit Test CA")
    assert set(origin.subject_alt_names) == {"localhost", "127.0.0.1"}
    assert origin.not_before is not None and origin.not_after is not None
    assert origin.not_before < datetime.now(UTC) < origin.not_after


@pytest.mark.slow
def test_tls_chains_json_holds_the_served_chain(https_capture: Captured, pki: Pki) -> None:
    from cryptography import x509

    document = json.loads(https_capture.file("tls-chains").read_bytes())
    assert document["format"] == "evidence-toolkit/tls-chains/v1"
    (entry,) = document["origins"]
    chain = [x509.load_pem_x509_certificate(p.encode()) for p in entry["chain_pem"]]
    assert chain == [pki.leaf, pki.ca]
    assert entry["chain_complete"] is True
    assert entry["certificate_error"] == https_capture.record.provenance.tls[0].certificate_error
    assert entry["browser"]["subjectName"] == "127.0.0.1"
    assert entry["browser_mismatch"] is None
    assert tuple(entry["chain_sha256"]) == https_capture.record.provenance.tls[0].chain_sha256


@pytest.mark.slow
def test_https_gbk_page_is_byte_identical_with_tls_fields(https_capture: Captured) -> None:
    (response,) = https_capture.records("response", https_capture.record.page.final_url)
    assert response.payload == (SITE / "gbk.html").read_bytes()
    protocols = response.headers["warc-protocol"]
    assert protocols[0] == "http/1.1"
    assert protocols[1].startswith("tls/1.")
    assert response.header("WARC-Cipher-Suite")


@pytest.mark.slow
def test_configured_trust_root_makes_the_chain_verify(
    https_site: HttpsDemoSite, pki: Pki, tmp_path: Path
) -> None:
    captured = capture(https_site.url_for("/index.html"), tmp_path, tls_trust_roots=pki.ca_pem)
    (origin,) = captured.record.provenance.tls
    assert origin.certificate_error is None
    assert not any("TLS certificate" in w for w in captured.record.warnings)
    document = json.loads(captured.file("tls-chains").read_bytes())
    assert document["origins"][0]["certificate_error"] is None


@pytest.mark.slow
def test_refuse_policy_fails_on_an_untrusted_certificate(
    https_site: HttpsDemoSite, tmp_path: Path
) -> None:
    with pytest.raises(CaptureError) as caught:
        capture_page(
            https_site.url_for("/index.html"),
            tmp_path,
            CaptureOptions(
                safety=SafetyOptions(
                    allow_private_targets=True, certificate_errors=CheckPolicy.REFUSE
                ),
                environment=EnvironmentOptions(ntp_servers=NO_NTP),
            ),
        )
    assert "TLS certificate not accepted (net::ERR_CERT_AUTHORITY_INVALID)" in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_unknown_policies_are_one_line_errors(tmp_path: Path) -> None:
    # A caller who ignores the types gets a one-line error, not a traceback.
    safety = SafetyOptions(allow_private_targets=True)
    for options in (
        CaptureOptions(
            safety=replace(safety, certificate_errors=cast(CheckPolicy, "ignore")),
        ),
        CaptureOptions(
            safety=safety, environment=EnvironmentOptions(policy=cast(CheckPolicy, "strict"))
        ),
    ):
        with pytest.raises(CaptureError) as caught:
            capture_page("http://127.0.0.1:9/", tmp_path, options)
        assert "policy" in caught.value.message and "\n" not in caught.value.message


def test_chain_verifies_with_the_test_ca_and_names_each_failure(
    https_site: HttpsDemoSite, pki: Pki
) -> None:
    port = int(https_site.url.rsplit(":", 1)[1].strip("/"))
    chain = fetch_chain("127.0.0.1", port)
    assert chain.error is None and len(chain.certificates) == 2
    now = datetime.now(UTC)
    assert verify_chain(chain, now, pki.ca_pem) is None
    untrusted = verify_chain(chain, now)
    assert untrusted is not None and "not trusted" in untrusted
    expired = verify_chain(chain, now + timedelta(days=3), pki.ca_pem)
    assert expired is not None and "not trusted" in expired
    wrong_host = verify_chain(replace(chain, host="shop.example.cn"), now, pki.ca_pem)
    assert wrong_host is not None and "not trusted" in wrong_host
    assert len({untrusted, expired, wrong_host}) == 3


def test_unreachable_tls_origin_is_described() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    chain = fetch_chain("127.0.0.1", port, timeout_s=1)
    assert chain.certificates == ()
    assert chain.error is not None and chain.error.startswith("TLS connection failed")
    assert verify_chain(chain, datetime.now(UTC)) == chain.error


# --- IDN and DNS --------------------------------------------------------------------------


def test_idn_hosts_have_both_forms() -> None:
    assert host_names("xn--fsqu00a.xn--0zwm56d") == ("xn--fsqu00a.xn--0zwm56d", "例子.测试")
    assert host_names("例子.测试") == ("xn--fsqu00a.xn--0zwm56d", "例子.测试")
    assert host_names("[::1]") == ("::1", "::1")
    assert host_names("Shop.Example.CN") == ("shop.example.cn", "shop.example.cn")
    assert https_origins(["https://例子.测试:8443/a", "http://x/", "https://[::1]/"]) == [
        ("https://xn--fsqu00a.xn--0zwm56d:8443", "xn--fsqu00a.xn--0zwm56d", 8443),
        ("https://[::1]", "::1", 443),
    ]


def test_dns_answers_and_failures_are_recorded() -> None:
    records = {r.host: r for r in resolve_hosts(["localhost", "xn--fsqu00a.invalid"])}
    assert "127.0.0.1" in records["localhost"].addresses
    assert records["localhost"].error is None
    idn = records["xn--fsqu00a.invalid"]
    assert idn.unicode_host == "例子.invalid"
    assert idn.addresses == ()
    assert idn.error is not None and ("not resolved" in idn.error or "no answer" in idn.error)


# --- clean-environment check -------------------------------------------------------------


class SntpServer:
    """A real SNTP server on 127.0.0.1 whose clock runs ``offset_s`` ahead of ours."""

    def __init__(self, offset_s: float = 0.0, echo: bool = True) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.offset_s = offset_s
        self.echo = echo
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(512)
            except OSError:
                return
            if peer is None:  # the socket was closed under the read
                return
            now = time.time() + self.offset_s
            stamp = struct.pack("!II", int(now) + 2_208_988_800, int((now % 1) * 2**32))
            answer = bytearray(48)
            answer[0] = 0x24  # version 4, mode 4 (server)
            answer[1] = 2
            answer[24:32] = data[40:48] if self.echo else b"\0" * 8
            answer[32:40] = stamp
            answer[40:48] = stamp
            try:
                self.sock.sendto(bytes(answer), peer)
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def ntp() -> Iterator[type[SntpServer]]:
    made: list[SntpServer] = []

    class Factory(SntpServer):
        def __init__(self, offset_s: float = 0.0, echo: bool = True) -> None:
            super().__init__(offset_s, echo)
            made.append(self)

    yield Factory
    for server in made:
        server.close()


def _checks(state: environment.EnvironmentState) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status, c.detail) for c in state.checks}


def test_clock_against_a_local_ntp_server(ntp: type[SntpServer]) -> None:
    good, ahead = ntp(0.0), ntp(120.0)
    state = environment.check_host(
        "http://127.0.0.1/",
        CaptureOptions(environment=EnvironmentOptions(ntp_servers=(good.address,))),
    )
    status, detail = _checks(state)["clock"]
    assert status == "pass", detail
    assert state.clock_offset_ms is not None and abs(state.clock_offset_ms) < 200
    assert state.clock_source == f"ntp:{good.address}"
    state = environment.check_host(
        "http://127.0.0.1/",
        CaptureOptions(environment=EnvironmentOptions(ntp_servers=(ahead.address,))),
    )
    status, detail = _checks(state)["clock"]
    assert status == "fail"
    assert state.clock_offset_ms is not None and -120_500 < state.clock_offset_ms < -119_500
    assert f"against ntp:{ahead.address}" in detail


def test_ntp_answers_that_cannot_be_trusted_are_not_used(ntp: type[SntpServer]) -> None:
    forged = ntp(0.0, echo=False)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        quiet = f"127.0.0.1:{silent.getsockname()[1]}"
        state = environment.check_host(
            "http://127.0.0.1/",
            CaptureOptions(environment=EnvironmentOptions(ntp_servers=(forged.address, quiet))),
        )
    status, detail = _checks(state)["clock"]
    # A clock nobody could check is a warning, never silence.
    assert status == "warn"
    assert "the clock could not be checked" in detail
    assert "does not echo our request" in detail
    assert "no answer within 1 s" in detail


def test_reference_clock_takes_precedence() -> None:
    behind = CaptureOptions(
        environment=EnvironmentOptions(
            reference_clock=lambda: datetime.now(UTC) + timedelta(seconds=3)
        )
    )
    state = environment.check_host("http://127.0.0.1/", behind)
    status, detail = _checks(state)["clock"]
    assert status == "warn" and "against reference clock" in detail
    assert state.clock_offset_ms is not None and -3_200 < state.clock_offset_ms < -2_800


def test_proxy_variables_are_shown_with_secrets_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "http://officer:s3cret@proxy.example:3128")
    state = environment.check_host(
        "http://127.0.0.1/", CaptureOptions(environment=EnvironmentOptions(ntp_servers=NO_NTP))
    )
    status, detail = _checks(state)["proxy_environment"]
    assert status == "warn"
    assert "https_proxy=http://officer:***@proxy.example:3128" in detail
    assert "s3cret" not in json.dumps(state.to_json())


def test_hosts_file_entry_for_the_target_fails_and_refuse_policy_stops(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n::1 localhost ip6-localhost\n10.9.9.9 shop.example.cn\n")
    monkeypatch.setattr(environment, "HOSTS_FILE", hosts)
    state = environment.check_host(
        "http://shop.example.cn/item",
        CaptureOptions(environment=EnvironmentOptions(ntp_servers=())),
    )
    status, detail = _checks(state)["hosts_file"]
    assert status == "fail"
    assert "maps the target host: 10.9.9.9 shop.example.cn" in detail
    assert state.to_json()["hosts_file"]["non_default_entries"] == ["10.9.9.9 shop.example.cn"]
    # Another target: the same entry is only unusual.
    other = environment.check_host(
        "http://127.0.0.1/", CaptureOptions(environment=EnvironmentOptions(ntp_servers=()))
    )
    assert _checks(other)["hosts_file"][0] == "warn"
    with pytest.raises(CaptureError) as caught:
        capture_page(
            "http://shop.example.cn/item",
            tmp_path / "out",
            CaptureOptions(
                environment=EnvironmentOptions(ntp_servers=(), policy=CheckPolicy.REFUSE)
            ),
        )
    assert caught.value.message.startswith(
        "capture refused by the clean-environment policy: hosts_file failed"
    )
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_refuse_policy_names_a_wrong_clock(tmp_path: Path) -> None:
    options = CaptureOptions(
        safety=SafetyOptions(allow_private_targets=True),
        environment=EnvironmentOptions(
            policy=CheckPolicy.REFUSE,
            reference_clock=lambda: datetime.now(UTC) - timedelta(hours=1),
        ),
    )
    with pytest.raises(CaptureError) as caught:
        capture_page("http://127.0.0.1:9/", tmp_path, options)
    message = caught.value.message
    assert message.startswith("capture refused by the clean-environment policy: clock failed")
    assert re.search(r"local clock \+36000\d\d ms against reference clock", message), message
    assert list(tmp_path.iterdir()) == []
