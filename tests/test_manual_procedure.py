"""The manual procedure's script is one text: in every bundle's VERIFY.txt and in the docs.

It is POSIX sh: dash and bash both parse it, and it holds none of the bashisms
that make dash give another result (``printf '\\x..'``, ``[[``, ``local``,
here-strings). tests/test_verify_txt.py runs it on real bundles and compares
every finding with ``evidence verify``.
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime

import pytest

from evidence.model.records import AnchorReceipt
from reports.bundle.guides import SCRIPT_LAST_LINE, merkle_instructions, procedure_script
from tests.conftest import REPO, require_tool

DOCS_SCRIPT = REPO / "docs" / "verify-by-hand.sh"
BASHISMS = {
    "printf '\\x": re.compile(r"\\x[0-9a-fA-F]"),
    "[[": re.compile(r"(^|[\s;])\[\[\s", re.MULTILINE),
    "local": re.compile(r"^\s*local\s", re.MULTILINE),
    "here-string": re.compile(r"<<<"),
    "$'...'": re.compile(r"(^|[\s=(])\$'", re.MULTILINE),
    "function keyword": re.compile(r"^\s*function\s", re.MULTILINE),
    "source": re.compile(r"^\s*source\s", re.MULTILINE),
    "==": re.compile(r"\[ [^]]* == "),
    "pipefail": re.compile(r"pipefail"),
    "arrays": re.compile(r"\$\{[A-Za-z_]+\[|\w+=\("),
}


def test_the_docs_script_is_the_bundled_one() -> None:
    assert DOCS_SCRIPT.read_text(encoding="utf-8") == procedure_script()


def test_the_script_is_posix_sh() -> None:
    text = procedure_script()
    assert text.startswith("#!/bin/sh\n")
    assert text.rstrip("\n").endswith(SCRIPT_LAST_LINE)
    found = {name for name, pattern in BASHISMS.items() if pattern.search(text)}
    assert not found, found
    for shell in ("dash", "bash"):
        require_tool(shell)
        parsed = subprocess.run([shell, "-n", str(DOCS_SCRIPT)], capture_output=True, text=True)
        assert parsed.returncode == 0, (shell, parsed.stderr)


def test_the_script_uses_stock_tools_only() -> None:
    text = procedure_script().lower()
    for tool in ("python", "cast ", "xxd", "jq ", "evidence verify "):
        lines = [ln for ln in text.splitlines() if tool in ln and not ln.lstrip().startswith("#")]
        assert tool == "evidence verify " or not lines, (tool, lines)


def _anchor(leaf_index: int, tree_size: int) -> AnchorReceipt:
    from evidence.model.merkle import MerkleTree

    leaves = [bytes([i]) * 32 for i in range(tree_size)]
    tree = MerkleTree(leaves)
    proof = tree.proof(leaf_index)
    return AnchorReceipt(
        chain_id=31337,
        network_name="test",
        contract_address="0x" + "11" * 20,
        transaction_hash="0x" + "22" * 32,
        block_number=5,
        block_hash="0x" + "33" * 32,
        block_time=datetime(2026, 1, 1, tzinfo=UTC),
        root="0x" + tree.root.hex(),
        leaf=leaves[leaf_index].hex(),
        leaf_index=leaf_index,
        tree_size=tree_size,
        proof=tuple(h.hex() for h in proof.path),
        rpc_url="http://127.0.0.1:8545",
        submitter="0x" + "44" * 20,
        reference="test",
        development=True,
    )


@pytest.mark.parametrize(("index", "size"), [(0, 1), (3, 5), (4, 5), (6, 7)])
@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_the_printed_merkle_steps_run_as_printed(index: int, size: int, shell: str) -> None:
    """Each ``printf … | sha256sum`` line of step 4b prints the hash written under it."""
    require_tool(shell)
    lines = merkle_instructions(_anchor(index, size))
    commands = [ln.strip() for ln in lines if ln.strip().startswith("printf ")]
    results = [ln.strip()[4:] for ln in lines if ln.strip().startswith("# = ")]
    assert len(commands) == len(results) >= 1
    for command, result in zip(commands, results, strict=True):
        assert "\\x" not in command
        out = subprocess.run([shell, "-c", command], capture_output=True, text=True, check=True)
        assert out.stdout.split()[0] == result, command
