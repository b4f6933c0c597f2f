"""The blockchain anchor: the recorded Merkle proof leads from the manifest digest to
the anchored root, in the registry and on the chain the expert trusts, at a block
time that fits the time-stamp; and the chain itself still holds it."""

from __future__ import annotations

import hashlib

from evidence.model.errors import AnchorError, BundleError
from evidence.model.merkle import InclusionProof, root_from_proof
from evidence.model.records import AnchorReceipt, Verdict
from evidence.verification.context import Check, Context, Fact, Findings
from evidence.verification.ids import CheckId
from reports.bundle import layout as bf

CLOCK_SKEW_S = 300
"""Block producers' clocks may run a few minutes ahead of the TSA's."""


def check_proof(ctx: Context, out: Findings) -> None:
    """``anchor.json`` parses, names the manifest digest as its leaf, and its path reaches
    the root; then the registry and chain id are compared with the trusted ones."""
    anchor = _read_record(ctx, out)
    if anchor is None:
        return
    manifest_sha256 = hashlib.sha256(ctx.manifest_bytes).hexdigest()
    if anchor.leaf.lower() != manifest_sha256:
        out.add(
            CheckId.ANCHOR_LEAF,
            bf.ANCHOR_JSON,
            Verdict.FAIL,
            f"the anchored leaf {anchor.leaf} is not the manifest digest {manifest_sha256}",
        )
        return
    try:
        proof = InclusionProof(
            anchor.leaf_index, anchor.tree_size, tuple(bytes.fromhex(h) for h in anchor.proof)
        )
        computed = root_from_proof(bytes.fromhex(manifest_sha256), proof)
    except (ValueError, TypeError) as exc:
        out.add(
            CheckId.ANCHOR_MERKLE,
            bf.ANCHOR_JSON,
            Verdict.FAIL,
            f"the Merkle proof is malformed: {exc}",
        )
        return
    if "0x" + computed.hex() != anchor.root.lower():
        out.add(
            CheckId.ANCHOR_MERKLE,
            bf.ANCHOR_JSON,
            Verdict.FAIL,
            f"the Merkle path from the manifest digest leads to 0x{computed.hex()}, "
            f"not to the anchored root {anchor.root}",
        )
        return
    out.add(
        CheckId.ANCHOR_MERKLE,
        bf.ANCHOR_JSON,
        Verdict.PASS,
        f"the manifest digest is leaf {anchor.leaf_index} of {anchor.tree_size} under "
        f"root {anchor.root}",
    )
    ctx.provide(Fact.ANCHOR, anchor)
    _check_registry(ctx, out, anchor)
    _check_chain_id(ctx, out, anchor)


def _read_record(ctx: Context, out: Findings) -> AnchorReceipt | None:
    data = ctx.read_small(bf.ANCHOR_JSON, out)
    if data is None:
        if bf.ANCHOR_JSON not in ctx.names:
            out.add(
                CheckId.ANCHOR,
                bf.ANCHOR_JSON,
                Verdict.NOT_CHECKED,
                "the bundle has no anchor record (the item was not anchored yet)",
            )
        return None
    try:
        return bf.anchor_from_json(data)  # parses through the bounded JSON reader
    except BundleError as exc:
        out.add(CheckId.ANCHOR_RECORD, bf.ANCHOR_JSON, Verdict.FAIL, exc.message)
    return None


def _check_registry(ctx: Context, out: Findings, anchor: AnchorReceipt) -> None:
    registry = ctx.options.registry
    if registry is None:
        ctx.setup["registry"] = f"{anchor.contract_address} (recorded in the bundle)"
        return
    ctx.setup["registry"] = f"{registry} (trusted, given by the verifier)"
    subject = f"{bf.ANCHOR_JSON}: contract_address"
    if anchor.contract_address.lower() != registry.lower():
        out.add(
            CheckId.ANCHOR_REGISTRY,
            subject,
            Verdict.FAIL,
            f"contract mismatch: the root was anchored in {anchor.contract_address}, "
            f"not our contract, the trusted registry {registry}",
        )
    else:
        out.add(
            CheckId.ANCHOR_REGISTRY,
            subject,
            Verdict.PASS,
            f"anchored in the trusted registry {registry}",
        )


def _check_chain_id(ctx: Context, out: Findings, anchor: AnchorReceipt) -> None:
    expected = ctx.options.chain_id
    if expected is None:
        ctx.setup["chain_id"] = f"{anchor.chain_id} (recorded in the bundle)"
        return
    ctx.setup["chain_id"] = f"{expected} (trusted, given by the verifier)"
    verdict = Verdict.PASS if anchor.chain_id == expected else Verdict.FAIL
    out.add(
        CheckId.ANCHOR_CHAIN_ID,
        f"{bf.ANCHOR_JSON}: chain_id",
        verdict,
        f"recorded chain id {anchor.chain_id}"
        + (" is" if verdict is Verdict.PASS else " differs from")
        + f" the trusted chain id {expected}",
    )


def check_block_time(ctx: Context, out: Findings) -> None:
    """The root was anchored after the time-stamp, and not long after."""
    anchor, gen_time = ctx.anchor, ctx.gen_time
    skew = (anchor.block_time - gen_time).total_seconds()
    tolerance = ctx.options.block_time_tolerance_s
    subject = f"{bf.ANCHOR_JSON}: block_time"
    where = "recorded block time" + (
        " (compared with the chain below)" if not ctx.options.offline else ""
    )
    block_time = anchor.block_time.isoformat()
    if skew < -CLOCK_SKEW_S:
        verdict = Verdict.FAIL
        detail = (
            f"{where} {block_time} is before the token's genTime {gen_time.isoformat()}: "
            "a root cannot be anchored before it was timestamped"
        )
    elif skew > tolerance:
        verdict = Verdict.FAIL
        detail = (
            f"{where} {block_time} is {skew:.0f} s after genTime {gen_time.isoformat()}, "
            f"more than the tolerance of {tolerance} s"
        )
    else:
        verdict = Verdict.PASS
        detail = f"{where} {block_time} is {skew:.0f} s after genTime (tolerance {tolerance} s)"
    out.add(CheckId.TIME_ANCHOR, subject, verdict, detail)


def check_chain(ctx: Context, out: Findings) -> None:
    """The registry on the chain holds the root, in the recorded transaction and block."""
    anchor = ctx.anchor
    if ctx.options.offline:
        out.add(
            CheckId.ANCHOR_CHAIN,
            bf.ANCHOR_JSON,
            Verdict.NOT_CHECKED,
            "offline mode: the chain was not queried",
        )
        return
    rpc = ctx.options.rpc_url or anchor.rpc_url
    ctx.setup["rpc_url"] = rpc + (
        " (given by the verifier)" if ctx.options.rpc_url else " (recorded in the bundle)"
    )
    from anchoring.chain import ChainUnreachableError, check_anchor  # web3: about 1 s

    try:
        seen = check_anchor(
            rpc,
            chain_id=ctx.options.chain_id or anchor.chain_id,
            contract_address=ctx.options.registry or anchor.contract_address,
            transaction_hash=anchor.transaction_hash,
            root=bytes.fromhex(anchor.root.lower()[2:]),
            min_confirmations=ctx.options.min_confirmations,
        )
    except ChainUnreachableError as exc:
        out.add(CheckId.ANCHOR_CHAIN, bf.ANCHOR_JSON, Verdict.NOT_CHECKED, exc.message)
        return
    except AnchorError as exc:
        out.add(CheckId.ANCHOR_CHAIN, bf.ANCHOR_JSON, Verdict.FAIL, exc.message)
        return
    mismatches = []
    if seen.block_number != anchor.block_number:
        mismatches.append(f"block_number {anchor.block_number} (chain: {seen.block_number})")
    if seen.block_hash.lower() != anchor.block_hash.lower():
        mismatches.append(f"block_hash {anchor.block_hash} (chain: {seen.block_hash})")
    if seen.anchored_at_block_time != anchor.block_time:
        mismatches.append(
            f"block_time {anchor.block_time.isoformat()} "
            f"(chain: {seen.anchored_at_block_time.isoformat()})"
        )
    if mismatches:
        detail = "recorded " + "; ".join(mismatches) + " differ from the chain"
        out.add(CheckId.ANCHOR_CHAIN, bf.ANCHOR_JSON, Verdict.FAIL, detail)
        return
    dev = " — local DEVELOPMENT chain" if anchor.development else ""
    out.add(
        CheckId.ANCHOR_CHAIN,
        bf.ANCHOR_JSON,
        Verdict.PASS,
        f"transaction {anchor.transaction_hash} in block {seen.block_number} on chain "
        f"{seen.chain_id} carries the root; {seen.confirmations} confirmation(s){dev}",
    )


PROOF = Check(
    CheckId.ANCHOR_MERKLE,
    check_proof,
    bf.ANCHOR_JSON,
    needs=frozenset({Fact.DIGESTS, Fact.MANIFEST_BYTES}),
    provides=frozenset({Fact.ANCHOR}),
)
BLOCK_TIME = Check(
    CheckId.TIME_ANCHOR,
    check_block_time,
    f"{bf.ANCHOR_JSON}: block_time",
    needs=frozenset({Fact.ANCHOR, Fact.GEN_TIME}),
)
CHAIN = Check(CheckId.ANCHOR_CHAIN, check_chain, bf.ANCHOR_JSON, needs=frozenset({Fact.ANCHOR}))
