"""Certificate fingerprints as a court compares them: openssl's colon form.

The toolkit's records carry a certificate's SHA-256 as lower-case hex; the
agency's published list and ``openssl x509 -noout -fingerprint -sha256``
print ``AB:CD:…``. Commands that name a signer show both, so nobody has to
convert by hand. (Spelled out here rather than imported from the model, so
the command line keeps to the public facade.)
"""

from __future__ import annotations

_HEX = frozenset("0123456789abcdef")


def colon_fingerprint(hex_digest: str) -> str:
    """``ab12…`` -> ``AB:12:…``; anything that is not hex is returned unchanged."""
    value = hex_digest.strip().lower()
    if not value or len(value) % 2 or not set(value) <= _HEX:
        return hex_digest
    return ":".join(value[i : i + 2] for i in range(0, len(value), 2)).upper()
