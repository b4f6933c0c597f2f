"""Merkle trees against an independent, literal transcription of RFC 9162."""

from __future__ import annotations

import hashlib
import random

import pytest

from evidence.model.merkle import (
    EMPTY_ROOT,
    InclusionProof,
    MerkleTree,
    root_from_proof,
    verify_inclusion,
)


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, recursively, exactly as written."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(m, D[n])."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 100])
def test_root_and_every_proof_match_the_rfc(n: int) -> None:
    leaves = [f"leaf-{i}".encode() for i in range(n)]
    tree = MerkleTree(leaves)
    assert tree.root == _mth(leaves)
    for i in range(n):
        proof = tree.proof(i)
        assert list(proof.path) == _path(i, leaves)
        assert root_from_proof(leaves[i], proof) == tree.root
        assert verify_inclusion(leaves[i], proof, tree.root)


def test_empty_tree_root_is_hash_of_nothing() -> None:
    assert MerkleTree([]).root == EMPTY_ROOT


def test_tampering_is_rejected() -> None:
    rng = random.Random(7)
    leaves = [rng.randbytes(32) for _ in range(13)]
    tree = MerkleTree(leaves)
    proof = tree.proof(5)
    assert not verify_inclusion(leaves[6], proof, tree.root)  # wrong leaf
    assert not verify_inclusion(leaves[5], InclusionProof(6, 13, proof.path), tree.root)
    assert not verify_inclusion(leaves[5], InclusionProof(5, 5, proof.path), tree.root)
    assert not verify_inclusion(leaves[5], InclusionProof(5, 32, proof.path), tree.root)
    assert not verify_inclusion(leaves[5], InclusionProof(5, 13, proof.path[:-1]), tree.root)
    assert not verify_inclusion(
        leaves[5], InclusionProof(5, 13, (*proof.path, proof.path[0])), tree.root
    )
    flipped = bytearray(proof.path[0])
    flipped[0] ^= 1
    assert not verify_inclusion(
        leaves[5], InclusionProof(5, 13, (bytes(flipped), *proof.path[1:])), tree.root
    )


def test_a_leaf_cannot_pose_as_a_node() -> None:
    leaves = [b"a", b"b"]
    tree = MerkleTree(leaves)
    # Domain separation: the concatenation of the two leaf hashes is not a valid leaf.
    forged = tree.leaf(0) + tree.leaf(1)
    assert MerkleTree([forged]).root != tree.root


def test_proof_json_round_trip() -> None:
    tree = MerkleTree([b"x", b"y", b"z"])
    proof = tree.proof(2)
    assert InclusionProof.from_json(proof.to_json()) == proof
    with pytest.raises(ValueError):
        InclusionProof.from_json({"leaf_index": "0", "tree_size": 3, "path": []})
