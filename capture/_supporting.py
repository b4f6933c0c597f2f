"""The parts of a capture beyond screenshot, DOM and traffic: supporting evidence.

:class:`SupportingEvidence` is driven by :mod:`capture._capture` at fixed points of one
capture: the clean-environment check (started before the browser, finished
with the browser's own facts), copies of the page as MHTML and as a printed
PDF, the network log, DNS answers and TLS chains, and what all of that adds
to the WARC, the file list and the capture record.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError

from capture._environment import (
    EnvironmentState,
    browser_facts,
    check_browser,
    check_host,
    enforce_policy,
    finish,
)
from capture._provenance import (
    collect_tls,
    contacted_hosts,
    https_origins,
    resolve_hosts,
    tls_document_bytes,
)
from capture._recorder import RecordedExchange, TrafficRecorder
from capture._warc import MetadataBlock, ResourceFile
from evidence.model.capture_options import CaptureOptions, CheckPolicy, ClockPolicy
from evidence.model.capture_record import (
    CapturedFile,
    EnvironmentCheck,
    EnvironmentStatus,
    EnvironmentSummary,
    HostRecord,
    Provenance,
    TlsOrigin,
)
from evidence.model.environment_messages import CheckName, EnvironmentFinding, FindingCode
from evidence.model.errors import CaptureError
from evidence.model.records import Clock

logger = logging.getLogger(__name__)

MHTML_NAME = "page.mhtml"
PDF_NAME = "page.pdf"
ENVIRONMENT_NAME = "environment.json"
TLS_CHAINS_NAME = "tls-chains.json"

MHTML_URN = "urn:evidence:mhtml:"
PDF_URN = "urn:evidence:print-pdf:"
NETWORK_LOG_URN = "urn:evidence:network-log:"
ENVIRONMENT_URN = "urn:evidence:environment:"
NETWORK_LOG_FORMAT = "evidence-toolkit/network-log/v1"

HOST_CHECK_WAIT_S = 10.0
"""How long the capture waits at the end for the host checks started before the browser."""


def checked_policy(value: str, name: str) -> CheckPolicy:
    """``value`` as a :class:`CheckPolicy`; a caller who passed another string gets one line."""
    try:
        return CheckPolicy(value)
    except ValueError:
        expected = " or ".join(repr(p.value) for p in CheckPolicy)
        raise CaptureError(f"unknown {name} policy {value!r} (expected {expected})") from None


def ignore_https_errors(options: CaptureOptions) -> bool:
    """Whether the browser may load pages with untrusted certificates (the error is recorded)."""
    policy = checked_policy(options.safety.certificate_errors, "certificate_errors")
    return policy is CheckPolicy.RECORD


@dataclass(slots=True)
class _Made:
    path: Path
    name: str
    role: str
    media_type: str
    uri_prefix: str | None
    made_at: datetime | None = None


class SupportingEvidence:
    """State of one capture's environment check, page copies and provenance."""

    def __init__(self, url: str, workdir: Path, options: CaptureOptions) -> None:
        self._url = url
        self._mhtml = _Made(
            workdir / MHTML_NAME, MHTML_NAME, "mhtml", "multipart/related", MHTML_URN
        )
        self._pdf = _Made(workdir / PDF_NAME, PDF_NAME, "print-pdf", "application/pdf", PDF_URN)
        self._environment = _Made(
            workdir / ENVIRONMENT_NAME, ENVIRONMENT_NAME, "environment", "application/json", None
        )
        self._tls_chains = _Made(
            workdir / TLS_CHAINS_NAME, TLS_CHAINS_NAME, "tls-chains", "application/json", None
        )
        self._host_state: EnvironmentState | None = None
        self._host_error: BaseException | None = None
        self._host_done = threading.Event()
        self._browser_state = EnvironmentState()
        self._launched_at = time.time()
        self._warnings: list[str] = []
        self._network_log: list[dict[str, Any]] = []
        self._security: dict[str, dict[str, Any]] = {}
        self._hosts: tuple[HostRecord, ...] = ()
        self._tls: tuple[TlsOrigin, ...] = ()
        self._tls_document: dict[str, Any] = {}
        self._environment_json: dict[str, Any] = {}
        self._checks: tuple[EnvironmentCheck, ...] = ()
        self._final_host_state = EnvironmentState()

    @classmethod
    def start(cls, url: str, workdir: Path, options: CaptureOptions) -> SupportingEvidence:
        """Validate the options and start the host checks alongside the browser."""
        checked_policy(options.environment.policy, "environment")
        ignore_https_errors(options)
        support = cls(url, workdir, options)
        # The host checks wait on the network (NTP, DNS) for up to a few
        # seconds; they run while the browser starts instead of before it.
        threading.Thread(
            target=support._run_host_checks, args=(options,), name="evidence-env", daemon=True
        ).start()
        return support

    def _run_host_checks(self, options: CaptureOptions) -> None:
        try:
            self._host_state = check_host(self._url, options)
        except BaseException as exc:  # reported in the record, never lost in a thread
            self._host_error = exc
        finally:
            self._host_done.set()

    def paths(self) -> tuple[Path, ...]:
        return tuple(m.path for m in self._all())

    def _all(self) -> tuple[_Made, ...]:
        return (self._mhtml, self._pdf, self._environment, self._tls_chains)

    # --- before and in the browser -------------------------------------------

    def before_launch(self, options: CaptureOptions) -> None:
        self._launched_at = time.time()
        environment = options.environment
        if (
            environment.policy is CheckPolicy.REFUSE
            or environment.clock_policy is ClockPolicy.REFUSE
        ):
            enforce_policy(self._host_result(), options)

    def check_browser(self, context: BrowserContext, options: CaptureOptions) -> None:
        """Build, exact launch flags and profile of the browser, before the page opens."""
        facts: dict[str, Any] = {}
        browser = context.browser
        if browser is not None:
            try:
                session = browser.new_browser_cdp_session()
                try:
                    facts = browser_facts(
                        session.send("Browser.getVersion"),
                        session.send("SystemInfo.getProcessInfo"),
                    )
                finally:
                    with contextlib.suppress(PlaywrightError):
                        session.detach()
            except PlaywrightError as exc:
                logger.warning("could not ask the browser about itself: %s", exc)
        check_browser(self._browser_state, facts, self._launched_at)
        enforce_policy(self._browser_state, options)

    def save_page_copies(
        self, page: Page, context: BrowserContext, clock: Clock, options: CaptureOptions
    ) -> None:
        """The page as MHTML (CDP ``Page.captureSnapshot``) and as a printed PDF."""
        try:
            session = context.new_cdp_session(page)
            try:
                snapshot = session.send("Page.captureSnapshot", {"format": "mhtml"})
            finally:
                with contextlib.suppress(PlaywrightError):
                    session.detach()
            # Blink writes MHTML as 7-bit text (quoted-printable and base64 parts).
            self._mhtml.path.write_bytes(str(snapshot.get("data", "")).encode("utf-8"))
            self._mhtml.made_at = clock()
        except PlaywrightError as exc:
            self._warnings.append(f"could not save the page as MHTML: {_first_line(exc)}")
        try:
            page.pdf(path=self._pdf.path, print_background=True)
            self._pdf.made_at = clock()
        except PlaywrightError as exc:
            self._pdf.path.unlink(missing_ok=True)
            self._warnings.append(f"could not print the page to PDF: {_first_line(exc)}")

    def take_network_log(self, recorder: TrafficRecorder) -> None:
        self._network_log = recorder.network_log()
        self._security = recorder.security_details()

    # --- after the browser ------------------------------------------------------

    def after_browser(
        self,
        exchanges: Sequence[RecordedExchange],
        redirect_chain: Sequence[str],
        options: CaptureOptions,
        clock: Clock,
    ) -> None:
        urls = [*redirect_chain, *(e.url for e in exchanges), *self._logged_urls()]
        checked_at = clock()
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            dns = pool.submit(resolve_hosts, contacted_hosts(urls))
            tls = pool.submit(
                collect_tls,
                https_origins(urls),
                self._security,
                checked_at,
                options.safety.tls_trust_roots,
            )
            self._hosts = dns.result()
            provenance = tls.result()
        self._tls = provenance.origins
        self._tls_document = provenance.document
        self._warnings.extend(provenance.warnings)
        unresolved = [h.host for h in self._hosts if h.error]
        if unresolved:
            logger.info("hosts not resolved at capture time: %s", unresolved)
        if self._tls:
            self._tls_chains.path.write_bytes(tls_document_bytes(self._tls_document))
            self._tls_chains.made_at = checked_at

        host_state = self._host_result()
        self._final_host_state = host_state
        combined = EnvironmentState(
            checks=host_state.checks + self._browser_state.checks,
            document={**host_state.document, **self._browser_state.document},
        )
        # The checks are the one record of the environment's problems: capture
        # warnings do not repeat them (a report lists both, once each).
        self._checks = tuple(combined.checks)
        self._environment_json = finish(combined, clock())
        self._environment.path.write_bytes(_json_bytes(self._environment_json))
        self._environment.made_at = clock()

    def _logged_urls(self) -> list[str]:
        urls = []
        for entry in self._network_log:
            for hop in entry.get("hops", ()):
                if hop.get("url"):
                    urls.append(str(hop["url"]))
        return urls

    def _host_result(self) -> EnvironmentState:
        if not self._host_done.wait(HOST_CHECK_WAIT_S):
            state = EnvironmentState()
            late = EnvironmentFinding.of(
                FindingCode.HOST_CHECKS_LATE, seconds=f"{HOST_CHECK_WAIT_S:g}"
            )
            state.add(CheckName.HOST_CHECKS, EnvironmentStatus.NOT_CHECKED, late)
            return state
        if self._host_error is not None or self._host_state is None:
            state = EnvironmentState()
            failed = EnvironmentFinding.of(FindingCode.HOST_CHECKS_FAILED, error=self._host_error)
            state.add(CheckName.HOST_CHECKS, EnvironmentStatus.NOT_CHECKED, failed)
            return state
        return self._host_state

    # --- what the capture gets back ------------------------------------------------

    def files(self) -> tuple[CapturedFile, ...]:
        return tuple(
            CapturedFile(m.path, m.name, m.role, m.media_type)
            for m in self._all()
            if m.made_at is not None and m.path.is_file()
        )

    def warnings(self) -> tuple[str, ...]:
        return tuple(self._warnings)

    def provenance(self, user_agent: str, browser_version: str) -> Provenance:
        """The browser's own facts with the machine and network facts gathered here."""
        state = self._final_host_state
        return Provenance(
            user_agent=user_agent,
            browser_version=browser_version,
            capture_host=state.hostname,
            outbound_ip=state.outbound_ip,
            outbound_ip_service=state.outbound_ip_service,
            hosts=self._hosts,
            tls=self._tls,
        )

    def environment(self) -> EnvironmentSummary:
        state = self._final_host_state
        return EnvironmentSummary(
            checks=self._checks,
            clock_offset_ms=state.clock_offset_ms,
            clock_source=state.clock_source,
        )

    def resources(self, final_url: str) -> tuple[ResourceFile, ...]:
        return tuple(
            ResourceFile(m.uri_prefix + final_url, m.path, m.media_type, m.made_at)
            for m in (self._mhtml, self._pdf)
            if m.uri_prefix is not None and m.made_at is not None and m.path.is_file()
        )

    def metadata(self, final_url: str, clock: Clock) -> tuple[MetadataBlock, ...]:
        made_at = clock()
        network = {
            "format": NETWORK_LOG_FORMAT,
            "page": final_url,
            "requests": self._network_log,
            "dns": {
                "note": "A/AAAA answers of the capture machine's OS resolver (getaddrinfo) "
                "at capture time, not the browser's own resolver",
                "hosts": [
                    {
                        "host": h.host,
                        "unicode_host": h.unicode_host,
                        "addresses": list(h.addresses),
                        "error": h.error,
                    }
                    for h in self._hosts
                ],
            },
            "tls": self._tls_document or None,
        }
        blocks = [
            MetadataBlock(
                NETWORK_LOG_URN + final_url, _json_bytes(network), "application/json", made_at
            )
        ]
        if self._environment_json:
            blocks.append(
                MetadataBlock(
                    ENVIRONMENT_URN + final_url,
                    self._environment.path.read_bytes(),
                    "application/json",
                    self._environment.made_at or made_at,
                )
            )
        return tuple(blocks)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str).encode("utf-8") + b"\n"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
