"""What coded messages share (environment findings, verification reasons, capture
warnings): a code and its values are stored; the sentence is made when it is shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Values = tuple[tuple[str, str], ...]


def fill(source: str, translated: str, values: Mapping[str, str]) -> str:
    """``translated`` with ``values``; the English ``source`` if the translation lost or
    broke a placeholder, so that a bad catalogue entry never hides what was found."""
    try:
        return translated.format(**values)
    except (KeyError, IndexError, ValueError):
        return source.format(**values)


def values_from_json(raw: Mapping[str, Any]) -> Values | None:
    """The ``values`` of a stored message, sorted; ``None`` when they are not a mapping."""
    values = raw.get("values") or {}
    if not isinstance(values, Mapping):
        return None
    return tuple(sorted((str(k), str(v)) for k, v in values.items()))
