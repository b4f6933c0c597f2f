"""The one error hierarchy of the toolkit.

Every failure a user can cause or meet (bad input, an unreachable service, a
failed check) is an :class:`EvidenceError` with a one-line human message; the
CLI catches this base class once and exits non-zero. Programming errors
(wrong types) stay ``TypeError``/``ValueError`` and are bugs.
"""

from __future__ import annotations


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
