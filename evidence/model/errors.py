"""The one error hierarchy of the toolkit.

Every failure a user can cause or meet (bad input, an unreachable service, a
failed check) is an :class:`EvidenceError` with a one-line human message; the
CLI catches this base class once and exits non-zero. Programming errors
(wrong types) stay ``TypeError``/``ValueError`` and are bugs.
"""

from __future__ import annotations

import enum


class EvidenceError(Exception):
    """Base class of every error the toolkit reports to its users."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """A longer, human explanation: the message plus what to try next."""
        if self.hint:
            return f"{self.message}\n{self.hint}"
        return self.message


class ConfigurationError(EvidenceError):
    """The toolkit's configuration or environment is unusable."""


class InvalidURLError(EvidenceError):
    """A URL is malformed or uses a scheme we do not capture."""


class CaptureError(EvidenceError):
    """The browser could not capture the page."""


class BrowserUnavailableError(CaptureError):
    """Chromium is missing or cannot be started: nothing was tried on the page."""


class StepsFileError(EvidenceError):
    """A navigation steps file is unreadable or malformed."""


class UrlListError(EvidenceError):
    """A list of URLs to capture cannot be read."""


class NotFoundError(EvidenceError):
    """A case, item or artifact does not exist."""


class StoreError(EvidenceError):
    """The artifact store refused or failed an operation."""


class IntegrityError(EvidenceError):
    """Stored bytes do not match their recorded digest."""


class LifecycleError(EvidenceError):
    """An operation is not allowed in the item's current state."""


class TimestampError(EvidenceError):
    """A time-stamp authority could not be reached or its token is invalid."""


class AnchorError(EvidenceError):
    """The chain could not be reached or the anchor transaction failed."""


class ReportError(EvidenceError):
    """A report or bundle could not be produced."""


class BundleError(EvidenceError):
    """A bundle is unreadable, truncated or malformed."""


class UnsafeJSONError(BundleError):
    """A JSON document is malformed or beyond the bounds untrusted input may have."""


# --- officers and manifest signatures ---------------------------------------


class AttributionError(EvidenceError):
    """An action that must name the officer doing it does not, or names one not on the case."""


class OfficerKeyError(EvidenceError):
    """An officer's key is missing, unreadable, or the passphrase is wrong or empty."""


class CertificateError(EvidenceError):
    """An officer's certificate is missing, does not match the key, or is not valid now."""


class SignatureFailure(enum.StrEnum):
    """Which check of a manifest signature failed."""

    MALFORMED = "malformed"
    """Not a DER CMS SignedData of the expected shape."""
    DIGEST = "digest"
    """The signed digest is not the manifest's: the manifest changed."""
    SIGNATURE = "signature"
    """The signature value does not verify with the embedded certificate's key."""
    CERTIFICATE = "certificate"
    """The certificate was not valid at the signing time, or may not sign."""
    UNTRUSTED = "untrusted"
    """The certificate does not chain to a given trust root."""


class SignatureError(EvidenceError):
    """A manifest signature does not verify.

    ``failure`` says which check failed, so a verifier can report it without
    parsing the message.
    """

    def __init__(self, message: str, *, failure: SignatureFailure, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.failure = failure
