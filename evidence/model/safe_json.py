"""JSON from untrusted hands: bounded in size, depth and number length.

A bundle's JSON members (manifest, anchor and timestamp records, custody
extract, frame list) come from whoever hands the expert the bundle. Python's
``json`` module recurses once per nesting level, and web3's ``py_ecc`` raises
the interpreter's recursion limit to 100,000 at import, after which a deeply
nested document overflows the C stack and kills the process (SIGSEGV) instead
of raising. A 100,000-digit integer makes ``int()`` raise a ``ValueError``
whose message nobody catches. So nesting is measured *before* parsing, on the
raw text, and numbers are parsed through bounded hooks; every refusal is one
:class:`~evidence.model.errors.UnsafeJSONError` naming the member.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evidence.model.errors import UnsafeJSONError

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(rb"[^\[\]{}]+")
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


@dataclass(frozen=True, slots=True)
class JSONLimits:
    """What a JSON document from a bundle may be."""

    max_bytes: int = 64 * 1024 * 1024
    max_depth: int = 64
    max_number_chars: int = 80
    """Digits (and sign, point, exponent) of one number: serial numbers of
    certificates and tokens reach 49 digits; nothing legitimate needs more."""


DEFAULT_LIMITS = JSONLimits()


def loads(data: bytes | str, name: str, limits: JSONLimits = DEFAULT_LIMITS) -> Any:
    """Parse ``data`` (the member ``name``) within ``limits``, or raise UnsafeJSONError.

    Also refused: invalid UTF-8, ``NaN``/``Infinity``, and an object with a
    duplicate key (two parsers could read different values from it).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > limits.max_bytes:
        raise UnsafeJSONError(f"{name}: larger than {limits.max_bytes} bytes")
    depth = nesting_depth(raw)
    if depth > limits.max_depth:
        raise UnsafeJSONError(f"{name}: nested {depth} levels deep (at most {limits.max_depth})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeJSONError(f"{name}: not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(
            text,
            parse_int=_bounded(int, name, limits.max_number_chars),
            parse_float=_bounded(float, name, limits.max_number_chars),
            parse_constant=_no_constant(name),
            object_pairs_hook=_unique_keys(name),
        )
    except json.JSONDecodeError as exc:
        raise UnsafeJSONError(
            f"{name}: not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        # Cannot happen within max_depth; kept so a lowered limit never crashes.
        raise UnsafeJSONError(f"{name}: nested too deeply") from None


def nesting_depth(raw: bytes) -> int:
    """The deepest bracket nesting of ``raw``, ignoring brackets inside strings.

    Linear and without recursion, so it is safe on any input.
    """
    brackets = _NOT_BRACKETS.sub(b"", _STRINGS.sub(b'""', raw))
    depth = deepest = 0
    for byte in brackets:
        depth += _BRACKET_STEP[byte]
        deepest = max(deepest, depth)
    return deepest


def _bounded(kind: Callable[[str], Any], name: str, max_chars: int) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if len(text) > max_chars:
            raise UnsafeJSONError(
                f"{name}: a number of {len(text)} characters (at most {max_chars})"
            )
        return kind(text)

    return parse


def _no_constant(name: str) -> Callable[[str], Any]:
    def refuse(text: str) -> Any:
        raise UnsafeJSONError(f"{name}: {text} is not a JSON number")

    return refuse


def _unique_keys(name: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise UnsafeJSONError(f"{name}: the key {key!r} appears twice in one object")
            result[key] = value
        return result

    return build
