"""Merkle trees in the style of RFC 9162 (Certificate Transparency v2), SHA-256.

Leaves and interior nodes are hashed with distinct one-byte prefixes
(``0x00`` for a leaf, ``0x01`` for a node), so a leaf can never be passed off
as a node. The tree over ``n`` leaves splits at the largest power of two
smaller than ``n``, exactly as RFC 9162 section 2.1.1 defines ``MTH``; an
inclusion proof is the RFC's audit path, and checking it needs nothing but
the proof, the leaf, the leaf's index, the tree size and the root.

An expert can check a proof by hand with ``sha256sum``/``openssl dgst``: see
``docs/merkle.md``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Where a leaf sits in a tree and the sibling hashes from the leaf up."""

    leaf_index: int
    tree_size: int
    path: tuple[bytes, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "path": [h.hex() for h in self.path],
        }

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> InclusionProof:
        index, size, path = raw.get("leaf_index"), raw.get("tree_size"), raw.get("path")
        if not isinstance(index, int) or not isinstance(size, int) or not isinstance(path, list):
            raise ValueError("proof needs integer leaf_index, tree_size and a path list")
        hashes = []
        for item in path:
            if not isinstance(item, str) or len(item) != 64:
                raise ValueError("proof path entries must be 64 hex digits")
            hashes.append(bytes.fromhex(item))
        return cls(index, size, tuple(hashes))


class MerkleTree:
    """A tree over a fixed list of leaf *data* (each hashed with the leaf prefix).

    Levels are computed once, bottom-up, so the root costs ``n`` leaf hashes
    plus ``n - 1`` node hashes and every proof is then a lookup. Building it
    bottom-up with an unpaired last node carried upwards gives the same root
    as RFC 9162's recursive split.
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self._levels: list[list[bytes]] = [[leaf_hash(leaf) for leaf in leaves]]
        while len(self._levels[-1]) > 1:
            below = self._levels[-1]
            above = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            if len(below) % 2:
                above.append(below[-1])
            self._levels.append(above)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    @property
    def root(self) -> bytes:
        if self.size == 0:
            return EMPTY_ROOT
        return self._levels[-1][0]

    def leaf(self, index: int) -> bytes:
        return self._levels[0][index]

    def proof(self, index: int) -> InclusionProof:
        if not 0 <= index < self.size:
            raise IndexError(f"leaf index {index} outside a tree of {self.size} leaves")
        path: list[bytes] = []
        position = index
        for level in self._levels[:-1]:
            sibling = position ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            # An unpaired last node has no sibling at this level: it moves up as is.
            position //= 2
        return InclusionProof(index, self.size, tuple(path))


def root_from_proof(leaf: bytes, proof: InclusionProof) -> bytes:
    """Recompute the root from leaf *data* and its proof (RFC 9162 section 2.1.3.2)."""
    if not 0 <= proof.leaf_index < proof.tree_size:
        raise ValueError("leaf index outside the tree")
    first, steps = proof_steps(leaf, proof)
    return steps[-1].result if steps else first


def verify_inclusion(leaf: bytes, proof: InclusionProof, root: bytes) -> bool:
    """True when ``leaf`` is at ``proof.leaf_index`` in the tree whose root is ``root``."""
    try:
        return root_from_proof(leaf, proof) == root
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class ProofStep:
    """One hashing step of a proof, for an expert to redo with printf and sha256sum."""

    sibling_on_left: bool
    sibling: bytes
    result: bytes


def proof_steps(leaf: bytes, proof: InclusionProof) -> tuple[bytes, tuple[ProofStep, ...]]:
    """The leaf hash and each node hash on the way to the root, in order."""
    steps: list[ProofStep] = []
    fn, sn = proof.leaf_index, proof.tree_size - 1
    first = current = leaf_hash(leaf)
    for sibling in proof.path:
        if sn == 0:
            raise ValueError("proof is longer than the tree is deep")
        if fn % 2 == 1 or fn == sn:
            current = node_hash(sibling, current)
            steps.append(ProofStep(True, sibling, current))
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            current = node_hash(current, sibling)
            steps.append(ProofStep(False, sibling, current))
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof is shorter than the tree is deep")
    return first, tuple(steps)


def printf_bytes(prefix: int, *parts: bytes) -> str:
    """A shell ``printf`` argument that writes ``prefix`` then ``parts`` as raw bytes."""
    data = bytes([prefix]) + b"".join(parts)
    return "".join(f"\\x{b:02x}" for b in data)
