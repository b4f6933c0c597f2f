"""The public exit address, as an outside echo service sees it.

The machine's own address (what the kernel routes from) is often a private
one behind NAT; what a website saw is the exit address. Only a service
outside can tell it, so the address is recorded together with the service
that said it, and without a configured service the record says that only the
local address is known.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request

ECHO_TIMEOUT_S = 3.0
MAX_ANSWER_BYTES = 1024
"""An address fits in a few dozen bytes; a long answer is not an echo service's."""
_ADDRESS_KEYS = ("ip", "origin", "address", "query")


class EchoError(Exception):
    """The echo service gave no usable address."""


def public_address(url: str, timeout_s: float = ECHO_TIMEOUT_S) -> str:
    """The address ``url`` says the request came from (plain text, or JSON with ``ip``).

    Proxy environment variables are followed on purpose: Chromium on Linux
    follows them too, so the address asked for is the one the site saw.
    """
    request = urllib.request.Request(url, headers={"Accept": "text/plain, application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read(MAX_ANSWER_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise EchoError(str(getattr(exc, "reason", exc))) from exc
    if len(body) > MAX_ANSWER_BYTES:
        raise EchoError(f"answer longer than {MAX_ANSWER_BYTES} bytes")
    return _address_in(body.decode("utf-8", "replace").strip())


def _address_in(text: str) -> str:
    candidate = text
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise EchoError("answer is not valid JSON") from exc
        found = [document.get(k) for k in _ADDRESS_KEYS if isinstance(document, dict)]
        candidate = next((str(v) for v in found if isinstance(v, str) and v), "")
    # Some services answer "client, proxy"; the first is the client.
    candidate = candidate.split(",")[0].strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        raise EchoError(f"answer is not an IP address: {candidate[:60]!r}") from None
