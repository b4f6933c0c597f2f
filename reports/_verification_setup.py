"""The verification report's setup table in the report's language.

The verifier describes what it relied on as (key, value) pairs of English
text: its options ("yes"/"no"), the trust entries by their names, a chain
entry as "; "-separated parts, and values it took from the bundle
("... (recorded in the bundle)"). This module knows those shapes and renders
each in the reader's language; addresses, digests and URLs pass unchanged,
and a shape it does not know is printed as it is, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from evidence.model.i18n import N_

Translate = Callable[[str], str]

_LABELS: dict[str, str] = {
    "trust": N_("Trust configuration"),
    "tsa_roots": N_("Time-stamp trust roots"),
    "signer_roots": N_("Signer trust roots"),
    "rpc_url": N_("Chain endpoint (JSON-RPC)"),
    "registry": N_("Registry contract"),
    "chain_id": N_("Chain id"),
    "offline": N_("Offline mode"),
    "min_confirmations": N_("Minimum confirmations"),
    "block_time_tolerance_s": N_("Block-time tolerance (s)"),
    "replay": N_("Replay comparison"),
    "replay_threshold": N_("Similarity threshold"),
    "format": N_("Bundle format"),
}

# Numbered entries: tsa_root_1, signer_root_2, chain_1 ...
_NUMBERED: dict[str, str] = {
    "tsa_root": N_("Trusted time-stamp root {n}"),
    "signer_root": N_("Trusted signer root {n}"),
    "chain": N_("Trusted chain {n}"),
}
_NUMBERED_KEY = re.compile(r"^(tsa_root|signer_root|chain)_(\d+)$")

_WORDS: dict[str, str] = {
    "yes": N_("yes"),
    "no": N_("no"),
    "nothing (every finding is UNTRUSTED)": N_("nothing (every finding is UNTRUSTED)"),
    "this machine's development TSA": N_("this machine's development TSA"),
    "this machine's local development chain": N_("this machine's local development chain"),
    "this data directory's local node": N_("this data directory's local node"),
    "any chain id": N_("any chain id"),
    "no fixed registry": N_("no fixed registry"),
    # phrases the checks pass as values of their reasons
    "item id": N_("item id"),
    "manifest SHA-256": N_("manifest SHA-256"),
    "item id or manifest SHA-256": N_("item id or manifest SHA-256"),
    "pdftotext is not installed": N_("pdftotext is not installed"),
    "recorded block time": N_("recorded block time"),
    "recorded block time (compared with the chain below)": N_(
        "recorded block time (compared with the chain below)"
    ),
    "no network (empty network namespace)": N_("no network (empty network namespace)"),
    "no namespace available: dead proxy, no DNS, no direct UDP": N_(
        "no namespace available: dead proxy, no DNS, no direct UDP"
    ),
    "Chromium sandbox on": N_("Chromium sandbox on"),
    "Chromium sandbox OFF": N_("Chromium sandbox OFF"),
    # what one check establishes for others (evidence.verification.context.Fact)
    "the files' digests": N_("the files' digests"),
    "the parsed manifest": N_("the parsed manifest"),
    "the verified time-stamp": N_("the verified time-stamp"),
    "the anchor record proven to hold the manifest": N_(
        "the anchor record proven to hold the manifest"
    ),
    "the WACZ's datapackage": N_("the WACZ's datapackage"),
    "the manifest of the bundled evidence": N_("the manifest of the bundled evidence"),
    "the digest of the bundled manifest": N_("the digest of the bundled manifest"),
}

# English shape -> its template; the groups fill {a} and {b}.
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(.*) \(recorded in the bundle\)$"), N_("{a} (recorded in the bundle)")),
    (re.compile(r"^(.*) \(trusted: (.*)\)$"), N_("{a} (trusted: {b})")),
    (re.compile(r"^officer (.*) \(([^()]*)\)$"), N_("officer {a} ({b})")),
    (re.compile(r"^chain id (\d+)$"), N_("chain id {a}")),
    (re.compile(r"^registry (0x[0-9a-fA-F]+)$"), N_("registry {a}")),
    (re.compile(r"^submitters (.*)$"), N_("submitters {a}")),
    (re.compile(r"^browser uid (\d+)$"), N_("browser uid {a}")),
    # a trusted TSA root as evidence.verification.trust.TrustedToken.describe_root words it
    (
        re.compile(
            r"^(.*) \(SHA-256 ([0-9a-f]+)\), a TSA root you trust — a DEVELOPMENT TSA, "
            r"not a trusted third party$"
        ),
        N_(
            "{a} (SHA-256 {b}), a TSA root you trust — a DEVELOPMENT TSA, not a trusted third party"
        ),
    ),
    (
        re.compile(r"^(.*) \(SHA-256 ([0-9a-f]+)\), a TSA root you trust$"),
        N_("{a} (SHA-256 {b}), a TSA root you trust"),
    ),
    # a signer as evidence.verification.signatures.describe_signer words them
    (
        re.compile(r"^(.*) \(enforcement ID ([^,]*), certificate SHA-256 ([0-9a-f]+)\)$"),
        N_("{a} (enforcement ID {b}, certificate SHA-256 {c})"),
    ),
    (re.compile(r"^certificate SHA-256 ([0-9a-f]+)$"), N_("certificate SHA-256 {a}")),
    # a report's PAdES signer as evidence.verification.report words them
    (
        re.compile(
            r"^(.*) \(enforcement ID ([^,]*), certificate SHA-256 ([0-9a-f]+), issued by (.*)\)$"
        ),
        N_("{a} (enforcement ID {b}, certificate SHA-256 {c}, issued by {d})"),
    ),
    (
        re.compile(r"^(.*) \(certificate SHA-256 ([0-9a-f]+), issued by (.*)\)$"),
        N_("{a} (certificate SHA-256 {b}, issued by {c})"),
    ),
    (
        re.compile(r"^only the bundle's own (\S+), not the TSA roots you trust$"),
        N_("only the bundle's own {a}, not the TSA roots you trust"),
    ),
    (
        re.compile(
            r"^only the bundle's own (\S+): you trust no TSA root "
            r"\(evidence trust add tsa, or --trust-roots\)$"
        ),
        N_(
            "only the bundle's own {a}: you trust no TSA root (evidence trust add tsa, or "
            "--trust-roots)"
        ),
    ),
    # a name quoted by repr()
    (re.compile(r"^'([^']*)'$"), N_("“{a}”")),
    (re.compile(r'^"([^"]*)"$'), N_("“{a}”")),
    (
        re.compile(r"^(\d+) responses from the WARC, (\d+) missing$"),
        N_("{a} responses from the WARC, {b} missing"),
    ),
    (
        re.compile(r"^sizes differ: captured (\S+), replayed (\S+)$"),
        N_("sizes differ: captured {a}, replayed {b}"),
    ),
)


def setup_label(key: str, translate: Translate) -> str:
    """The row label of one setup key; an unknown key is printed as it is."""
    if key in _LABELS:
        return translate(_LABELS[key])
    numbered = _NUMBERED_KEY.match(key)
    if numbered is not None:
        return translate(_NUMBERED[numbered[1]]).format(n=numbered[2])
    return key


def setup_value(value: str, translate: Translate) -> str:
    """One setup value in the reader's language, part by part."""
    # A trust entry is "name: SHA-256 digest" or "name: part; part; ..."
    name, sep, rest = value.partition(": ")
    if sep and (name in _WORDS or name.startswith("officer ")):
        parts = [_phrase(part, translate) for part in rest.split("; ")]
        # TRANSLATORS: between two findings of one clean-environment check.
        return f"{_phrase(name, translate)}: " + translate(N_("; ")).join(parts)
    return _phrase(value, translate)


def reason_value(value: str, translate: Translate) -> str:
    """A value of a verification reason: an English phrase the check passed (or a
    "; "-separated list of them) in the reader's language; data unchanged."""
    if "; " not in value:
        return _phrase(value, translate)
    # TRANSLATORS: between two findings of one clean-environment check.
    return translate(N_("; ")).join(_phrase(part, translate) for part in value.split("; "))


def _phrase(text: str, translate: Translate) -> str:
    if text in _WORDS:
        return translate(_WORDS[text])
    for pattern, template in _SHAPES:
        found = pattern.match(text)
        if found is not None:
            groups = [_phrase(g, translate) for g in found.groups()]
            values = dict(zip(("a", "b", "c", "d"), groups, strict=False))
            return translate(template).format(**values)
    return text
