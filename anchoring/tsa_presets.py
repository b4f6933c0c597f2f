"""Well-known public RFC 3161 time-stamp authorities, by name.

A preset is a URL and where the TSA's trust roots come from. The roots of
DigiCert, Sectigo and GlobalSign ship in ``tsa_roots/`` (from Debian's
ca-certificates), but trusting one stays the operator's or expert's decision
(``evidence trust add tsa --preset NAME`` after comparing the fingerprint in
``docs/trust.md`` with the TSA's own site). FreeTSA's root is not in that
store and is not shipped. See ``docs/timestamping.md``.

None of these services can be reached from the toolkit's test machines (no
internet there); the same code paths are tested against the local
openssl-backed TSA. URLs and root names were correct when written; check them
against the TSA's current documentation before relying on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from anchoring.tsa import TSAConfig
from evidence.model.errors import ConfigurationError

ROOTS_DIRECTORY: Final = Path(__file__).resolve().parent / "tsa_roots"
"""The public TSAs' roots, copied from Debian's ca-certificates (Mozilla's programme) so
that a verification years later does not depend on the machine's certificate store;
their fingerprints are listed in ``docs/trust.md``."""


@dataclass(frozen=True, slots=True)
class TSAPreset:
    name: str
    url: str
    operator: str
    roots: str
    """Which root certificate(s) the TSA chains to and where to download them."""
    notes: str = ""
    needs_credentials: bool = False


PRESETS: Final[dict[str, TSAPreset]] = {
    preset.name: preset
    for preset in (
        TSAPreset(
            name="freetsa",
            url="https://freetsa.org/tsr",
            operator="FreeTSA.org (free, community run)",
            roots="cacert.pem from https://freetsa.org/files/cacert.pem "
            "(TSA certificate: https://freetsa.org/files/tsa.crt)",
            notes="No service-level commitment; useful as a second, independent TSA.",
        ),
        TSAPreset(
            name="digicert",
            url="http://timestamp.digicert.com",
            operator="DigiCert",
            roots="DigiCert Trusted Root G4 (and, for older tokens, DigiCert Assured ID "
            "Root CA) from https://www.digicert.com/kb/digicert-root-certificates.htm",
            notes="Plain http by design: the token is signed, the transport need not be.",
        ),
        TSAPreset(
            name="sectigo",
            url="http://timestamp.sectigo.com",
            operator="Sectigo",
            roots="USERTrust RSA Certification Authority, from Sectigo's root "
            "certificate downloads (sectigo.com knowledge base)",
            notes="Sectigo asks clients to wait at least 15 s between requests per client; "
            "batch anchoring keeps the request rate to one per item.",
        ),
        TSAPreset(
            name="globalsign",
            url="http://timestamp.globalsign.com/tsa/r6advanced1",
            operator="GlobalSign",
            roots="GlobalSign Root CA - R6 from "
            "https://support.globalsign.com/ca-certificates/root-certificates",
        ),
    )
}
"""Public TSAs by lower-case name.

Chinese national time-stamp services (for example the 联合信任时间戳服务中心
operated with the National Time Service Center, 国家授时中心) issue RFC 3161
tokens to registered customers only: their URL, credentials and roots come
with the service contract, so they are configured as an ordinary TSA URL with
credentials (``https://user:password@host/path``) rather than as a preset.
"""


def preset(name: str) -> TSAPreset:
    try:
        return PRESETS[name.strip().lower()]
    except KeyError:
        raise ConfigurationError(
            f"unknown TSA preset {name!r}; known: {', '.join(sorted(PRESETS))}"
        ) from None


def preset_config(name: str, trust_roots_pem: bytes, **options: float) -> TSAConfig:
    """A :class:`TSAConfig` for a preset, with the roots the operator downloaded and checked."""
    chosen = preset(name)
    return TSAConfig(
        url=chosen.url,
        trust_roots_pem=trust_roots_pem,
        name=chosen.name,
        timeout_s=float(options.get("timeout_s", 10.0)),
        total_timeout_s=float(options.get("total_timeout_s", 30.0)),
    )
