"""The environment record tells the truth, and the report repeats it faithfully.

The clock check always has a result and a source (a clock no source could
check is a warning, and the clock policy decides whether capture goes on);
the exit address is the public one only when an echo service said so, and
that service is named; page 1's warnings are the environment section's.
Real servers on 127.0.0.1 play the NTP, HTTP ``Date`` and echo services.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from capture import _environment as environment
from capture import capture_page
from evidence.model.capture_options import (
    CaptureOptions,
    ClockPolicy,
    EnvironmentOptions,
    SafetyOptions,
)
from evidence.model.capture_record import EnvironmentStatus
from evidence.model.config import CaptureSettings
from evidence.model.environment_messages import CheckName, FindingCode
from evidence.model.errors import CaptureError, ConfigurationError
from evidence.model.manifest import capture_from_json, capture_to_json
from reports.pdf import render_report
from tests.test_report_pdf import make_input, needs_poppler, pdf_text, poppler, squeezed  # noqa: F401 (poppler: a fixture)

TARGET = "http://127.0.0.1/"


class _Server:
    """A one-purpose HTTP server on 127.0.0.1 whose answer a test chooses."""

    def __init__(self, answer: Callable[[], tuple[int, dict[str, str], bytes]]) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _reply(self) -> None:
                status, headers, body = outer.answer()
                self.send_response_only(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = _reply

            def log_message(self, *args: object) -> None:
                return

        self.answer = answer
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Callable[..., _Server]]:
    made: list[_Server] = []

    def start(answer: Callable[[], tuple[int, dict[str, str], bytes]]) -> _Server:
        made.append(_Server(answer))
        return made[-1]

    yield start
    for each in made:
        each.close()


def _date_server(offset: timedelta) -> Callable[[], tuple[int, dict[str, str], bytes]]:
    def answer() -> tuple[int, dict[str, str], bytes]:
        when = format_datetime(datetime.now(UTC) + offset, usegmt=True)
        return 200, {"Date": when}, b""

    return answer


def _clock_options(**changes: Any) -> CaptureOptions:
    return CaptureOptions(environment=replace(EnvironmentOptions(ntp_servers=()), **changes))


def _check(state: environment.EnvironmentState, name: CheckName) -> tuple[str, str, set[str]]:
    check = state.find(name)
    assert check is not None
    return check.status, check.detail, {f.code for f in check.findings}


# --- the clock ---------------------------------------------------------------------------------


def test_clock_against_an_http_date_source_passes_with_its_source(
    server: Callable[..., _Server],
) -> None:
    good = server(_date_server(timedelta(0)))
    state = environment.check_host(TARGET, _clock_options(clock_http_urls=(good.url,)))
    status, detail, codes = _check(state, CheckName.CLOCK)
    assert status == "pass", detail
    assert state.clock_source == f"http-date:{good.url}"
    # A Date header counts whole seconds: the offset is good to about half a second.
    assert state.clock_offset_ms is not None and abs(state.clock_offset_ms) <= 1_000
    assert codes == {FindingCode.CLOCK_OFFSET}
    assert f"against http-date:{good.url}" in detail


def test_a_clock_beyond_the_allowed_skew_is_a_warning_then_a_failure(
    server: Callable[..., _Server],
) -> None:
    ahead = server(_date_server(timedelta(seconds=5)))
    options = _clock_options(clock_http_urls=(ahead.url,), max_clock_skew_ms=2_000)
    status, detail, codes = _check(environment.check_host(TARGET, options), CheckName.CLOCK)
    assert status == "warn" and FindingCode.CLOCK_OVER_SKEW in codes
    assert "more than the allowed 2000 ms off" in detail
    far = server(_date_server(timedelta(hours=-1)))
    state = environment.check_host(TARGET, _clock_options(clock_http_urls=(far.url,)))
    status, _, _ = _check(state, CheckName.CLOCK)
    assert status == "fail"
    assert state.clock_offset_ms is not None and 3_598_000 < state.clock_offset_ms < 3_602_000


def test_an_unchecked_clock_is_a_warning_naming_every_source_tried(
    server: Callable[..., _Server],
) -> None:
    no_date = server(lambda: (200, {}, b""))
    refused = "http://127.0.0.1:9/"
    options = _clock_options(clock_http_urls=(no_date.url, refused))
    state = environment.check_host(TARGET, options)
    status, detail, codes = _check(state, CheckName.CLOCK)
    assert status == "warn"
    assert state.clock_offset_ms is None and state.clock_source == ""
    assert codes == {
        FindingCode.CLOCK_UNCHECKED,
        FindingCode.SOURCE_UNUSABLE,
        FindingCode.SOURCE_REFUSED,
    }
    assert f"http-date:{no_date.url}: unusable answer (no Date header)" in detail
    assert f"http-date:{refused}: connection refused" in detail
    # Nothing configured at all is said as plainly.
    _, detail, _ = _check(environment.check_host(TARGET, _clock_options()), CheckName.CLOCK)
    assert "no clock source is configured" in detail


def test_clock_policy_warn_goes_on_and_refuse_stops() -> None:
    warn = _clock_options()
    state = environment.check_host(TARGET, warn)
    environment.enforce_policy(state, warn)  # a warning, not a stop
    refuse = _clock_options(clock_policy=ClockPolicy.REFUSE)
    with pytest.raises(CaptureError) as caught:
        environment.enforce_policy(environment.check_host(TARGET, refuse), refuse)
    assert caught.value.message.startswith(
        "capture refused by the clock policy: the clock could not be checked"
    )


def test_clock_policy_refuse_accepts_a_good_clock(server: Callable[..., _Server]) -> None:
    good = server(_date_server(timedelta(0)))
    options = _clock_options(clock_policy=ClockPolicy.REFUSE, clock_http_urls=(good.url,))
    environment.enforce_policy(environment.check_host(TARGET, options), options)


def test_refuse_policy_stops_a_real_capture_before_the_page_opens(
    tmp_path: Path, server: Callable[..., _Server]
) -> None:
    visited: list[str] = []

    def page() -> tuple[int, dict[str, str], bytes]:
        visited.append("page")
        return 200, {"Content-Type": "text/html"}, b"<p>hello</p>"

    site = server(page)
    options = replace(
        _clock_options(clock_policy=ClockPolicy.REFUSE),
        safety=SafetyOptions(allow_private_targets=True),
    )
    with pytest.raises(CaptureError) as caught:
        capture_page(site.url, tmp_path / "out", options)
    assert "refused by the clock policy" in caught.value.message
    assert visited == []


# --- the exit address ----------------------------------------------------------------------------


def test_public_exit_address_is_recorded_with_the_service_that_said_it(
    server: Callable[..., _Server],
) -> None:
    echo = server(lambda: (200, {"Content-Type": "text/plain"}, b"203.0.113.7\n"))
    state = environment.check_host(TARGET, _clock_options(ip_echo_url=echo.url))
    status, detail, codes = _check(state, CheckName.OUTBOUND_IP)
    assert status == "pass" and codes == {FindingCode.OUTBOUND_PUBLIC}
    assert (state.outbound_ip, state.outbound_ip_service) == ("203.0.113.7", echo.url)
    assert detail == f"public exit address 203.0.113.7, as reported by {echo.url}"
    document = state.to_json()["outbound"]
    assert document["local_address"] == "127.0.0.1"
    assert document["public_address"] == "203.0.113.7"
    json_echo = server(lambda: (200, {}, b'{"ip": "2001:db8::5"}'))
    state = environment.check_host(TARGET, _clock_options(ip_echo_url=json_echo.url))
    assert state.outbound_ip == "2001:db8::5"


def test_a_bad_echo_answer_is_a_warning_and_the_local_address_stays_labelled(
    server: Callable[..., _Server],
) -> None:
    liar = server(lambda: (200, {}, b"<html>not an address</html>"))
    state = environment.check_host(TARGET, _clock_options(ip_echo_url=liar.url))
    status, detail, codes = _check(state, CheckName.OUTBOUND_IP)
    assert status == "warn"
    assert codes == {FindingCode.OUTBOUND_ECHO_FAILED, FindingCode.OUTBOUND_LOCAL}
    assert (state.outbound_ip, state.outbound_ip_service) == ("127.0.0.1", "")
    assert "the public exit address was not checked" in detail


def test_without_an_echo_service_the_address_is_the_local_one() -> None:
    state = environment.check_host(TARGET, _clock_options())
    status, detail, codes = _check(state, CheckName.OUTBOUND_IP)
    assert status == "pass" and codes == {FindingCode.OUTBOUND_LOCAL}
    assert state.outbound_ip_service == ""
    assert "leaves from the local address 127.0.0.1" in detail


# --- settings ----------------------------------------------------------------------------------


def test_capture_settings_from_the_environment() -> None:
    settings = CaptureSettings.from_env(
        {
            "EVIDENCE_IP_ECHO_URL": "https://echo.example/",
            "EVIDENCE_CLOCK_POLICY": "Refuse",
            "EVIDENCE_CLOCK_MAX_SKEW_MS": "250",
            "EVIDENCE_NTP_SERVERS": "ntp.a.example, ntp.b.example:123",
            "EVIDENCE_CLOCK_HTTP_URLS": "https://time.example/",
        }
    )
    merged = settings.apply(EnvironmentOptions())
    assert merged.ip_echo_url == "https://echo.example/"
    assert merged.clock_policy is ClockPolicy.REFUSE
    assert merged.max_clock_skew_ms == 250
    assert merged.ntp_servers == ("ntp.a.example", "ntp.b.example:123")
    assert merged.clock_http_urls == ("https://time.example/",)
    # A caller's own choice stands; unset settings change nothing.
    own = EnvironmentOptions(ntp_servers=("mine",), max_clock_skew_ms=50)
    assert settings.apply(own).ntp_servers == ("mine",)
    assert settings.apply(own).max_clock_skew_ms == 50
    assert CaptureSettings.from_env({}).apply(own) == own
    with pytest.raises(ConfigurationError, match="EVIDENCE_CLOCK_POLICY"):
        CaptureSettings.from_env({"EVIDENCE_CLOCK_POLICY": "maybe"})


# --- the report ----------------------------------------------------------------------------------


def _real_checks(server: Callable[..., _Server], echo: bool) -> environment.EnvironmentState:
    options = _clock_options()
    if echo:
        answer = server(lambda: (200, {}, b"203.0.113.7"))
        options = _clock_options(ip_echo_url=answer.url)
    return environment.check_host(TARGET, options)


def _capture_summary(text: str, language: str) -> str:
    """The report's opening (particulars and capture summary), up to the environment section."""
    heading = "、采集环境清洁性检查\n" if language == "zh" else ". Clean-environment check\n"
    return text[: text.index(heading)]


@needs_poppler
@pytest.mark.parametrize("language", ["zh", "en"])
def test_page_one_warnings_agree_with_the_environment_section(
    tmp_path: Path, server: Callable[..., _Server], language: str
) -> None:
    state = _real_checks(server, echo=False)
    data = make_input(tmp_path, language=language, screenshot_height=900)
    capture = replace(
        data.capture,
        warnings=(),
        provenance=replace(data.capture.provenance, outbound_ip="127.0.0.1"),
        environment=replace(
            data.capture.environment,
            checks=tuple(state.checks),
            clock_offset_ms=None,
            clock_source="",
        ),
    )
    # Through the manifest form, as a report is made from a sealed item.
    capture = capture_from_json(capture_to_json(capture))
    pdf = render_report(replace(data, capture=capture), tmp_path / "report.pdf")
    text = pdf_text(pdf)
    flat = squeezed(text)
    page_one = squeezed(_capture_summary(text, language))
    problems = [c for c in state.checks if c.status is not EnvironmentStatus.PASS]
    assert problems, "the clock at least cannot be checked here"
    if language == "zh":
        assert f"共{len(problems)}项告警" in page_one
        assert "环境检查“系统时钟”：警告" in page_one
        assert "时钟核对未能核对（警告）" in page_one
        assert "127.0.0.1（本机地址，未查询公网出口）" in page_one
        assert "系统时钟警告未能对照任何时间源核对本机时钟" in flat
    else:
        assert f"{len(problems)}warning(s):" in page_one
        assert "Environmentcheck“Systemclock”:warning" in page_one
        assert "127.0.0.1(localaddress;publicexitnotchecked)" in page_one
    assert "无" not in page_one.split("采集告警")[-1][:2]


@needs_poppler
def test_public_exit_address_is_labelled_with_its_service_in_the_report(
    tmp_path: Path, server: Callable[..., _Server]
) -> None:
    data = make_input(tmp_path, screenshot_height=900)
    provenance = replace(
        data.capture.provenance,
        outbound_ip="203.0.113.7",
        outbound_ip_service="https://echo.example/ip",
    )
    capture = capture_from_json(capture_to_json(replace(data.capture, provenance=provenance)))
    assert capture.provenance.outbound_ip_service == "https://echo.example/ip"
    text = pdf_text(render_report(replace(data, capture=capture), tmp_path / "r.pdf"))
    page_one = squeezed(_capture_summary(text, "zh"))
    assert "203.0.113.7（公网出口地址，由https://echo.example/ip报告）" in page_one
