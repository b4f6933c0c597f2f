"""What the reports call a time-stamp and an anchor, by their trust standing.

"Trusted time-stamp" is printed only for a TSA this machine's trust
configuration trusts; a development TSA or chain is titled as what it is, and
anything else as not in the configuration. The standing is decided by the
facade (:class:`~evidence.model.records.TrustStanding`); the reports only word it.
"""

from __future__ import annotations

from evidence.model.i18n import N_
from evidence.model.records import TrustStanding
from reports._i18n import translate

__all__ = ["anchor_note", "anchor_title", "timestamp_note", "timestamp_title"]

_TIMESTAMP_TITLES: dict[TrustStanding, str] = {
    TrustStanding.TRUSTED: N_("Trusted time-stamp"),
    TrustStanding.DEVELOPMENT: N_("Time-stamp (development TSA, not a trusted third party)"),
    TrustStanding.UNTRUSTED: N_("Time-stamp (issuer not in this machine's trust configuration)"),
}

_ANCHOR_TITLES: dict[TrustStanding, str] = {
    TrustStanding.TRUSTED: N_(
        "Blockchain anchor (chain and registry in this machine's trust configuration)"
    ),
    TrustStanding.DEVELOPMENT: N_(
        "Blockchain anchor (local development chain, no third-party witness)"
    ),
    TrustStanding.UNTRUSTED: N_(
        "Blockchain anchor (chain or registry not in this machine's trust configuration)"
    ),
}

# What a reader must know before relying on a section whose title is not "trusted".
_TIMESTAMP_NOTES: dict[TrustStanding, str] = {
    TrustStanding.UNTRUSTED: N_(
        "No TSA root in this machine's trust configuration (evidence trust) verifies this "
        "token. Before relying on it, compare the TSA certificate's SHA-256 fingerprint below "
        "with the one the time-stamp authority publishes."
    ),
}

_ANCHOR_NOTES: dict[TrustStanding, str] = {
    TrustStanding.UNTRUSTED: N_(
        "This chain and contract are not a chain and registry in this machine's trust "
        "configuration (evidence trust). Before relying on the anchor, compare the chain ID "
        "and contract address below with those the chain's operator publishes."
    ),
}


def timestamp_title(language: str, standing: TrustStanding) -> str:
    return translate(language, _TIMESTAMP_TITLES[standing])


def anchor_title(language: str, standing: TrustStanding) -> str:
    return translate(language, _ANCHOR_TITLES[standing])


def timestamp_note(language: str, standing: TrustStanding) -> str | None:
    """The caveat printed under the time-stamp heading, if the standing needs one."""
    message = _TIMESTAMP_NOTES.get(standing)
    return translate(language, message) if message is not None else None


def anchor_note(language: str, standing: TrustStanding) -> str | None:
    """The caveat printed under the anchor heading, if the standing needs one."""
    message = _ANCHOR_NOTES.get(standing)
    return translate(language, message) if message is not None else None
