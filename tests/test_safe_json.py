"""Bounded JSON: hostile documents are one clear error, never a crash."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evidence.model.errors import UnsafeJSONError
from evidence.model.safe_json import JSONLimits, loads, nesting_depth


def test_an_ordinary_document_parses_as_json_does() -> None:
    doc = {"a": [1, 2.5, {"b": "x[y]{z}\"]]]"}], "n": None, "t": True, "big": 2**64}
    raw = json.dumps(doc, ensure_ascii=False).encode()
    assert loads(raw, "m.json") == doc


def test_brackets_inside_strings_do_not_count() -> None:
    assert nesting_depth(b'{"k": "[[[[[[[[[[{{{{{{{{\\\\\\"[[["}') == 1
    assert nesting_depth(b"[[[]],[]]") == 3


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested 100000 levels deep"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested 100000 levels deep"),
        (b'{"size": ' + b"9" * 100_000 + b"}", "a number of 100000 characters"),
        (b'{"x": 1e' + b"9" * 200 + b"}", "a number of"),
        (b'{"a": 1, "a": 2}', "the key 'a' appears twice"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b'{"a": ', "not valid JSON"),
    ],
)
def test_hostile_documents_are_one_line_errors(raw: bytes, says: str) -> None:
    with pytest.raises(UnsafeJSONError) as caught:
        loads(raw, "manifest.json")
    message = str(caught.value)
    assert message.startswith("manifest.json: ")
    assert says in message
    assert "\n" not in message


def test_size_is_bounded_before_parsing() -> None:
    with pytest.raises(UnsafeJSONError, match="larger than 10 bytes"):
        loads(b'{"a": "0123456789"}', "x.json", JSONLimits(max_bytes=10))


def test_deep_nesting_does_not_crash_after_a_library_raised_the_recursion_limit() -> None:
    # py_ecc (imported by web3) sets the recursion limit to 100,000; json.loads
    # of deep input then overflows the C stack (SIGSEGV). The bounded parser
    # refuses before recursing at all.
    code = (
        "import sys; sys.setrecursionlimit(100000)\n"
        "from evidence.model.safe_json import loads\n"
        "from evidence.model.errors import UnsafeJSONError\n"
        "try:\n"
        "    loads(b'[' * 200000 + b']' * 200000, 'manifest.json')\n"
        "except UnsafeJSONError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "manifest.json: nested 200000 levels deep" in done.stdout
