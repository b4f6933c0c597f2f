from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("evidence-toolkit")
except metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"


def dependency_versions() -> dict[str, str]:
    """Versions of the libraries that shape the evidence, recorded in every manifest."""
    versions: dict[str, str] = {}
    for name in (
        "playwright",
        "warcio",
        "cryptography",
        "rfc3161ng",
        "rfc3161-client",
        "web3",
        "reportlab",
        "sqlmodel",
    ):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
