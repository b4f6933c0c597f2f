"""RFC 3161 time-stamping: ask a TSA for a token over a digest, and verify tokens.

Three separate steps, as in trailofbits/rfc3161-client:

* :func:`build_timestamp_request` makes the DER ``TimeStampReq`` (random
  64-bit nonce, ``certReq`` true);
* :func:`fetch_timestamp` POSTs it and returns the raw ``TimeStampResp``
  without judging it;
* :func:`verify_timestamp` is the one verification used both on receipt and
  at any later check.

:func:`request_timestamp` chains the three and returns an
:class:`evidence.model.records.TimestampToken`; nothing unverified leaves it.

Verification (:mod:`anchoring._tsa_verify`) judges a token as of its own
genTime, so a token stays verifiable after its TSA certificate has expired, and
accepts what real TSAs send: certificate SETs not in DER order, and tokens
without the TSA's certificate when the caller supplies it from the trust
configuration.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import ipaddress
import logging
import random
import re
import secrets
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.client import HTTPException
from typing import Any, Final

import rfc3161ng
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from anchoring import _tsa_asn1
from anchoring._tsa_common import HASH_OIDS, PREFIX, fail, hash_key, one_line
from anchoring._tsa_verify import TimestampVerification as TimestampVerification
from anchoring._tsa_verify import verify_response
from evidence.model.errors import ConfigurationError, TimestampError
from evidence.model.records import TimestampToken
from evidence.model.redaction import redact_url

logger = logging.getLogger(__name__)

QUERY_MEDIA_TYPE: Final = "application/timestamp-query"
REPLY_MEDIA_TYPE: Final = "application/timestamp-reply"
MAX_RESPONSE_BYTES: Final = 1024 * 1024
"""Real responses are a few KiB (token plus a certificate chain)."""


@dataclass(frozen=True, slots=True)
class TSAConfig:
    """Where to ask for tokens and which roots their TSA certificate must chain to."""

    # Out of repr(): the URL may carry an API key (``shown_url`` is the safe form).
    url: str = field(repr=False)
    trust_roots_pem: bytes
    """One or more PEM certificates; a token must chain to one of them."""
    development: bool = False
    """True for the toolkit's own development TSA (no trusted third party)."""
    timeout_s: float = 10.0
    """Per network operation (connect, each read), not the whole exchange."""
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    policy_oid: str | None = None
    """Ask the TSA for this policy (``reqPolicy``) and require it in the token."""
    total_timeout_s: float = 30.0
    """Whole exchange, headers and body: a server dripping bytes (slow loris) is cut off."""
    name: str = ""
    """A label for messages and presets, e.g. ``FreeTSA``; the URL when empty."""
    tsa_certificates_pem: bytes | None = None
    """The TSA's own certificate (and intermediates) for a TSA that does not put
    them into its tokens; they help find the signer, trust still comes from
    ``trust_roots_pem`` alone."""

    @property
    def label(self) -> str:
        return self.name or self.shown_url

    @property
    def shown_url(self) -> str:
        """The URL as it may be printed, logged and stored: without credentials."""
        return redact_url(self.url)

    def __post_init__(self) -> None:
        try:
            parsed = urllib.parse.urlsplit(self.url)
            parsed.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError as exc:
            raise ConfigurationError(f"TSA URL is malformed: {redact_url(self.url)!r}") from exc
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigurationError(
                f"TSA URL must be http(s)://host/...: {redact_url(self.url)!r}"
            )
        if self.timeout_s <= 0 or self.total_timeout_s <= 0:
            raise ConfigurationError(
                f"TSA timeouts must be positive, got {self.timeout_s}/{self.total_timeout_s}"
            )
        if not self.trust_roots_pem.strip():
            raise ConfigurationError(f"TSA {self.shown_url}: no trust root configured")


# --- request -----------------------------------------------------------------


def hash_algorithm_oid(name: str) -> str:
    """OID of ``sha256``/``sha384``/``sha512`` (``SHA-256`` spellings accepted)."""
    try:
        return HASH_OIDS[hash_key(name)]
    except KeyError:
        raise ValueError(
            f"unsupported time-stamp hash algorithm {name!r}; use one of {sorted(HASH_OIDS)}"
        ) from None


def build_timestamp_request(
    digest: bytes,
    *,
    hash_algorithm: str = "sha256",
    nonce: int,
    policy_oid: str | None = None,
) -> bytes:
    """DER ``TimeStampReq`` over ``digest`` with ``certReq`` true."""
    hash_algorithm_oid(hash_algorithm)
    name = hash_key(hash_algorithm)
    if len(digest) != hashlib.new(name).digest_size:
        size = hashlib.new(name).digest_size
        raise ValueError(f"a {name} digest is {size} bytes, got {len(digest)}")
    if nonce < 0:
        raise ValueError("nonce must not be negative")
    request = rfc3161ng.make_timestamp_request(
        digest=digest,
        hashname=name,
        include_tsa_certificate=True,
        nonce=nonce,
        tsa_policy_id=policy_oid,
    )
    return bytes(rfc3161ng.encode_timestamp_request(request))


def fetch_timestamp(query_der: bytes, config: TSAConfig) -> bytes:
    """POST a ``TimeStampReq`` to the TSA and return the body, unverified.

    Transport failures (unreachable, timeout, HTTP error status, oversized
    body, an answer that is not ``application/timestamp-reply`` DER) raise
    :class:`TimestampError` naming the URL. ``config.timeout_s`` bounds each
    network operation and ``config.total_timeout_s`` the whole exchange.
    """
    headers = {
        "Content-Type": QUERY_MEDIA_TYPE,
        "Accept": REPLY_MEDIA_TYPE,
        "User-Agent": "evidence-toolkit-rfc3161",
    }
    if config.username is not None:
        if urllib.parse.urlsplit(config.url).scheme != "https":
            logger.warning("sending TSA credentials to %s over plain http", config.shown_url)
        token = f"{config.username}:{config.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
    request = urllib.request.Request(config.url, data=query_der, headers=headers, method="POST")
    watchdog = _Watchdog(config.total_timeout_s)
    too_slow = (
        f"TSA {config.shown_url} did not answer within {config.total_timeout_s:g} s "
        "(whole exchange)"
    )
    try:
        with watchdog, _opener(config.url, watchdog).open(
            request, timeout=config.timeout_s
        ) as response:
            body = _read_limited(response, watchdog)
            media_type = response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        fail(f"TSA {config.shown_url} answered HTTP {exc.code} {one_line(str(exc.reason))}", exc)
    except urllib.error.URLError as exc:
        if watchdog.fired:
            fail(too_slow, exc)
        if isinstance(exc.reason, TimeoutError):
            fail(f"TSA {config.shown_url} did not answer within {config.timeout_s:g} s", exc)
        fail(f"TSA {config.shown_url} is unreachable: {one_line(str(exc.reason))}", exc)
    except TimeoutError as exc:
        if watchdog.fired:
            fail(too_slow, exc)
        fail(f"TSA {config.shown_url} did not answer within {config.timeout_s:g} s", exc)
    except (HTTPException, OSError, ValueError) as exc:
        if watchdog.fired:
            fail(too_slow, exc)
        fail(f"TSA {config.shown_url}: connection failed: {one_line(repr(exc))}", exc)
    if watchdog.fired:
        raise TimestampError(too_slow)
    if len(body) > MAX_RESPONSE_BYTES:
        raise TimestampError(
            f"TSA {config.shown_url}: response larger than {MAX_RESPONSE_BYTES} bytes"
        )
    if media_type in ("text/html", "text/plain") and not body.startswith(b"\x30"):
        # A captive portal, proxy or error page answering 200: say so, not "bad DER".
        raise TimestampError(
            f"TSA {config.shown_url} answered {media_type} instead of a time-stamp reply "
            f"({one_line(body[:80].decode('utf-8', 'replace'))})"
        )
    if media_type != REPLY_MEDIA_TYPE:
        # Some TSAs label replies oddly; the DER checks decide, not the header.
        logger.warning("TSA %s answered with Content-Type %s", config.shown_url, media_type)
    return body


def _read_limited(response: Any, watchdog: _Watchdog) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_RESPONSE_BYTES:
        chunk: bytes = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if watchdog.fired:
            break
    return b"".join(chunks)


class _Watchdog:
    """Shuts down the exchange's sockets when the whole-exchange deadline passes.

    Per-operation socket timeouts alone let a server that sends one byte every
    few seconds hold a request open indefinitely.
    """

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.fired = False

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.fired:
                self._shut(sock)

    def __enter__(self) -> _Watchdog:
        self._timer = threading.Timer(self._seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _watched(base: type[http.client.HTTPConnection], watchdog: _Watchdog) -> Any:
    class Watched(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            watchdog.watch(self.sock)

    return Watched


class _WatchedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._connection = _watched(http.client.HTTPConnection, watchdog)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection, req)


class _WatchedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._connection = _watched(http.client.HTTPSConnection, watchdog)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        # The default context: certificate and host name checked.
        return self.do_open(self._connection, req, context=ssl.create_default_context())


def request_timestamp(
    digest: bytes, config: TSAConfig, *, hash_algorithm: str = "sha256"
) -> TimestampToken:
    """Get an RFC 3161 token over ``digest`` and verify it before returning it.

    Any failure (TSA unreachable, HTTP error, rejection status, or a failed
    check of :func:`verify_timestamp`) raises :class:`TimestampError` with a
    one-line message naming the TSA URL.
    """
    name = hash_key(hash_algorithm)
    nonce = secrets.randbits(64)
    query = build_timestamp_request(
        digest, hash_algorithm=name, nonce=nonce, policy_oid=config.policy_oid
    )
    response_der = fetch_timestamp(query, config)
    try:
        checked = verify_timestamp(
            response_der,
            digest,
            config.trust_roots_pem,
            nonce=nonce,
            hash_algorithm=name,
            tsa_certificates_pem=config.tsa_certificates_pem,
        )
        if config.policy_oid is not None and checked.policy != config.policy_oid:
            raise TimestampError(
                f"{PREFIX}: policy {checked.policy} is not the requested {config.policy_oid}"
            )
    except TimestampError as exc:
        raise TimestampError(f"TSA {config.shown_url}: {exc.message}", hint=exc.hint) from exc
    logger.info(
        "TSA %s stamped %s:%s at %s (serial %d)",
        config.shown_url, name, checked.imprint, checked.gen_time.isoformat(), checked.serial,
    )
    return TimestampToken(
        tsa_url=config.shown_url,
        response_der=response_der,
        token_der=checked.token_der,
        gen_time=checked.gen_time,
        serial_number=checked.serial,
        policy_oid=checked.policy,
        hash_algorithm=checked.hash_algorithm,
        message_imprint=checked.imprint,
        nonce=checked.nonce,
        tsa_subject=checked.tsa_subject,
        tsa_certificate_pem=checked.tsa_certificate_pem,
        trust_root_pem=config.trust_roots_pem,
        development=config.development,
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try each TSA of a list before moving on to the next one."""

    attempts: int = 3
    """Tries per TSA for transient failures (unreachable, timeout, HTTP 5xx/429)."""
    backoff_s: float = 0.5
    """Pause before the second try; doubled before each further one (plus jitter)."""
    max_backoff_s: float = 8.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.backoff_s < 0 or self.max_backoff_s < 0:
            raise ConfigurationError("TSA retry policy: attempts >= 1 and non-negative pauses")

    def pause(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        base = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        # Jitter keeps many clients that lost the same TSA from retrying in step.
        return float(base * random.uniform(0.5, 1.0))


@dataclass(frozen=True, slots=True)
class TimestampAttempts:
    """What :func:`request_timestamps` got: the tokens, and why other TSAs gave none."""

    tokens: tuple[TimestampToken, ...]
    failures: tuple[str, ...]
    """One line per TSA that gave no usable token, naming it and the last error."""


_TRANSIENT = re.compile(
    r"unreachable|did not answer|connection failed|HTTP (5\d\d|429|408)|status 3 waiting"
)


def request_timestamps(
    digest: bytes,
    configs: Sequence[TSAConfig],
    *,
    needed: int = 1,
    hash_algorithm: str = "sha256",
    retry: RetryPolicy | None = None,
    exclude_signers: Collection[bytes] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> TimestampAttempts:
    """Tokens over ``digest`` from ``needed`` independent TSAs, trying ``configs`` in order.

    Each TSA gets up to ``retry.attempts`` tries with exponential back-off for
    transient failures (unreachable, timeouts, HTTP 5xx); a token that fails
    verification is not retried (the TSA answered, and wrongly). Two tokens
    count as independent when different certificates signed them: a second
    URL of the same TSA does not count. ``exclude_signers`` holds DER
    certificates whose tokens the caller already has.

    Never raises for a TSA's failure: the result lists every failure so that
    the caller can keep what it got and say what is still owed.
    """
    if needed < 1:
        raise ValueError("needed must be at least 1")
    if not configs:
        raise ConfigurationError("no TSA configured")
    policy = retry or RetryPolicy()
    tokens: list[TimestampToken] = []
    failures: list[str] = []
    signers = set(exclude_signers)
    for config in configs:
        if len(tokens) >= needed:
            break
        for attempt in range(1, policy.attempts + 1):
            try:
                token = request_timestamp(digest, config, hash_algorithm=hash_algorithm)
            except TimestampError as exc:
                transient = bool(_TRANSIENT.search(exc.message))
                if transient and attempt < policy.attempts:
                    pause = policy.pause(attempt)
                    logger.info("%s; try %d again in %.2f s", exc.message, attempt + 1, pause)
                    sleep(pause)
                    continue
                failures.append(
                    f"{config.label}: {exc.message}"
                    + (f" (after {attempt} tries)" if attempt > 1 else "")
                )
                break
            signer = signer_certificate_der(token)
            if signer in signers:
                failures.append(
                    f"{config.label}: same TSA certificate as a token already held "
                    "(not independent)"
                )
            else:
                signers.add(signer)
                tokens.append(token)
            break
    return TimestampAttempts(tuple(tokens), tuple(failures))


def signer_certificate_der(token: TimestampToken) -> bytes:
    """DER of the certificate that signed ``token`` (the first in its stored PEM)."""
    first = x509.load_pem_x509_certificates(token.tsa_certificate_pem)[0]
    return first.public_bytes(Encoding.DER)


# --- verification --------------------------------------------------------------


def verify_timestamp(
    response_der: bytes,
    digest: bytes,
    trust_roots_pem: bytes,
    *,
    nonce: int | None = None,
    hash_algorithm: str | None = None,
    tsa_certificates_pem: bytes | None = None,
    now: datetime | None = None,
) -> TimestampVerification:
    """Verify a DER ``TimeStampResp`` over ``digest`` against PEM trust roots.

    Checks, in order, each failing with a :class:`TimestampError` that names
    it: the response parses and was granted; the TSA signing certificate is
    found, in the token or else among ``tsa_certificates_pem`` (certificates
    from the trust configuration, used like ``openssl ts -verify -untrusted``:
    they add no trust); the CMS signature holds over the exact signed bytes;
    that certificate has the critical timeStamping EKU, was valid at genTime
    and chains to one of the roots *as of genTime*, so a token whose TSA
    certificate has expired since still verifies; the signed ESSCertID(v2)
    names it; genTime is not after ``now`` (default: the system clock); the
    message imprint equals ``digest`` (and uses ``hash_algorithm`` when given);
    the nonce equals ``nonce`` when given; finally rfc3161-client re-verifies
    the lot as a second opinion.

    Malformed input of any kind is a failed verification, never a pass: an
    unexpected exception while reading the token is re-raised as
    :class:`TimestampError`.
    """
    return verify_response(
        response_der,
        digest,
        trust_roots_pem,
        nonce=nonce,
        hash_algorithm=hash_algorithm,
        tsa_certificates_pem=tsa_certificates_pem,
        now=now,
    )


def verify_timestamp_token(
    token_der: bytes,
    digest: bytes,
    trust_roots_pem: bytes,
    *,
    nonce: int | None = None,
    hash_algorithm: str | None = None,
    tsa_certificates_pem: bytes | None = None,
    now: datetime | None = None,
) -> TimestampVerification:
    """:func:`verify_timestamp` for a bare ``TimeStampToken`` (CMS ``ContentInfo``).

    The token is wrapped in a *granted* ``TimeStampResp``; the status is not
    signed, so nothing is assumed that the token does not itself prove.
    """
    return verify_response(
        _tsa_asn1.wrap_token(token_der),
        digest,
        trust_roots_pem,
        nonce=nonce,
        hash_algorithm=hash_algorithm,
        tsa_certificates_pem=tsa_certificates_pem,
        now=now,
    )


# --- helpers -------------------------------------------------------------------------


def _opener(url: str, watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    host = urllib.parse.urlsplit(url).hostname or ""
    handlers: list[urllib.request.BaseHandler] = [
        _WatchedHTTPHandler(watchdog),
        _WatchedHTTPSHandler(watchdog),
    ]
    # A proxy from the environment must not swallow loopback traffic (the
    # development TSA); real TSAs keep whatever proxy the site uses.
    if host == "localhost" or _is_loopback(host):
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
