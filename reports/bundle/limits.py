"""How much of a received bundle the reader agrees to look at.

A bundle comes from outside; these bounds are what keeps a hostile one from
exhausting disk, memory or time before a single check has run.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_SMALL_FILE", "BundleLimits"]

MAX_SMALL_FILE = 64 * 1024 * 1024
"""Metadata files (manifest, token, JSON) are read into memory; cap them."""


@dataclass(frozen=True, slots=True)
class BundleLimits:
    """Bounds that keep a hostile bundle from exhausting disk, memory or time."""

    max_members: int = 10_000
    max_total_bytes: int = 64 * 1024**3
    """Sum of the uncompressed sizes of all files: zip bombs and sparse giants stop here."""
    max_ratio: float = 100.0
    """Largest uncompressed/compressed ratio for one zip member above ``ratio_floor`` bytes."""
    ratio_floor: int = 1024 * 1024
