"""The blockchain anchor: the recorded Merkle proof leads from the manifest digest to
the anchored root, in the registry and on the chain the expert trusts, at a block
time that fits the time-stamp; and the chain itself still holds it."""

from __future__ import annotations

import hashlib

from evidence.model.errors import AnchorError, BundleError
from evidence.model.merkle import InclusionProof, root_from_proof
from evidence.model.records import AnchorCheck, AnchorReceipt, Verdict
from evidence.model.redaction import redact_url
from evidence.model.verification_messages import Reason
from evidence.model.verification_messages import ReasonCode as C
from evidence.verification.context import Check, Context, Fact, Findings
from evidence.verification.ids import CheckId
from evidence.verification.trust import ChainTrust, chain_trust
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
            Reason.of(C.LEAF_NOT_MANIFEST, leaf=anchor.leaf, sha256=manifest_sha256),
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
            Reason.of(C.PROOF_MALFORMED, error=exc),
        )
        return
    if "0x" + computed.hex() != anchor.root.lower():
        out.add(
            CheckId.ANCHOR_MERKLE,
            bf.ANCHOR_JSON,
            Verdict.FAIL,
            Reason.of(C.PATH_WRONG_ROOT, computed="0x" + computed.hex(), root=anchor.root),
        )
        return
    out.add(
        CheckId.ANCHOR_MERKLE,
        bf.ANCHOR_JSON,
        Verdict.PASS,
        Reason.of(C.PATH_HOLDS, index=anchor.leaf_index, size=anchor.tree_size, root=anchor.root),
    )
    ctx.provide(Fact.ANCHOR, anchor)
    _check_chain_id(ctx, out, anchor)
    _check_registry(ctx, out, anchor)


def _read_record(ctx: Context, out: Findings) -> AnchorReceipt | None:
    data = ctx.read_small(bf.ANCHOR_JSON, out)
    if data is None:
        if bf.ANCHOR_JSON not in ctx.names:
            out.add(
                CheckId.ANCHOR,
                bf.ANCHOR_JSON,
                Verdict.NOT_CHECKED,
                Reason.of(C.ANCHOR_ABSENT),
            )
        return None
    try:
        return bf.anchor_from_json(data)  # parses through the bounded JSON reader
    except BundleError as exc:
        out.add(
            CheckId.ANCHOR_RECORD,
            bf.ANCHOR_JSON,
            Verdict.FAIL,
            Reason.of(C.ERROR, error=exc.message),
        )
    return None


def _check_chain_id(ctx: Context, out: Findings, anchor: AnchorReceipt) -> None:
    """The recorded chain is one the expert trusts (and the one pinned, if any)."""
    subject = f"{bf.ANCHOR_JSON}: chain_id"
    pinned = ctx.options.chain_id
    trust = _trust(ctx, anchor)
    ctx.setup["chain_id"] = f"{anchor.chain_id} (recorded in the bundle)"
    if pinned is not None and pinned != anchor.chain_id:
        out.add(
            CheckId.ANCHOR_CHAIN_ID,
            subject,
            Verdict.FAIL,
            Reason.of(C.CHAIN_ID_DIFFERS, chain_id=anchor.chain_id, pinned=pinned),
        )
    elif trust is None:
        out.add(
            CheckId.ANCHOR_CHAIN_ID,
            subject,
            Verdict.UNTRUSTED,
            Reason.of(
                C.CHAIN_NOT_TRUSTED,
                chain_id=anchor.chain_id,
                contract=anchor.contract_address,
                url=redact_url(anchor.rpc_url),
            ),
        )
    else:
        out.add(
            CheckId.ANCHOR_CHAIN_ID,
            subject,
            Verdict.PASS,
            Reason.of(C.CHAIN_TRUSTED, chain_id=anchor.chain_id, names=", ".join(trust.names)),
        )


def _check_registry(ctx: Context, out: Findings, anchor: AnchorReceipt) -> None:
    """The recorded contract is the registry the expert trusts on that chain."""
    trust = _trust(ctx, anchor)
    if trust is None:
        return  # the chain itself is not trusted: said once, by the chain id line
    subject = f"{bf.ANCHOR_JSON}: contract_address"
    if trust.registry is None:
        ctx.setup["registry"] = f"{anchor.contract_address} (recorded in the bundle)"
        out.add(
            CheckId.ANCHOR_REGISTRY,
            subject,
            Verdict.UNTRUSTED,
            Reason.of(
                C.REGISTRY_BUNDLE_WORD, contract=anchor.contract_address, chain_id=anchor.chain_id
            ),
        )
        return
    ctx.setup["registry"] = f"{trust.registry} (trusted: {trust.registry_source})"
    if anchor.contract_address.lower() != trust.registry.lower():
        out.add(
            CheckId.ANCHOR_REGISTRY,
            subject,
            Verdict.FAIL,
            Reason.of(
                C.REGISTRY_MISMATCH, contract=anchor.contract_address, registry=trust.registry
            ),
        )
    else:
        out.add(
            CheckId.ANCHOR_REGISTRY,
            subject,
            Verdict.PASS,
            Reason.of(C.REGISTRY_TRUSTED, registry=trust.registry, source=trust.registry_source),
        )


def _trust(ctx: Context, anchor: AnchorReceipt) -> ChainTrust | None:
    return chain_trust(ctx.trust, anchor.chain_id, ctx.options.min_confirmations)


def check_block_time(ctx: Context, out: Findings) -> None:
    """The root was anchored after the time-stamp, and not long after."""
    anchor, gen_time = ctx.anchor, ctx.gen_time
    skew = (anchor.block_time - gen_time).total_seconds()
    tolerance = ctx.options.block_time_tolerance_s
    subject = f"{bf.ANCHOR_JSON}: block_time"
    # An English phrase as a value: the report translates it (reports/_verification_setup.py).
    where = "recorded block time" + (
        " (compared with the chain below)" if not ctx.options.offline else ""
    )
    block_time = anchor.block_time.isoformat()
    if skew < -CLOCK_SKEW_S:
        verdict = Verdict.FAIL
        said = Reason.of(
            C.BLOCK_BEFORE_TOKEN, where=where, time=block_time, gen_time=gen_time.isoformat()
        )
    elif skew > tolerance:
        verdict = Verdict.FAIL
        said = Reason.of(
            C.BLOCK_TOO_LATE,
            where=where,
            time=block_time,
            skew=f"{skew:.0f}",
            gen_time=gen_time.isoformat(),
            tolerance=tolerance,
        )
    else:
        verdict = Verdict.PASS
        said = Reason.of(
            C.BLOCK_IN_TIME, where=where, time=block_time, skew=f"{skew:.0f}", tolerance=tolerance
        )
    out.add(CheckId.TIME_ANCHOR, subject, verdict, said)


def check_chain(ctx: Context, out: Findings) -> None:
    """The registry on a chain the expert trusts holds the root, in the recorded
    transaction and block; asked only at endpoints the expert trusts."""
    anchor = ctx.anchor
    if ctx.options.offline:
        out.add(
            CheckId.ANCHOR_CHAIN,
            bf.ANCHOR_JSON,
            Verdict.NOT_CHECKED,
            Reason.of(C.CHAIN_OFFLINE),
        )
        return
    trust = _trust(ctx, anchor)
    pinned = ctx.options.chain_id
    if trust is None or not trust.endpoints or pinned not in (None, anchor.chain_id):
        out.add(
            CheckId.ANCHOR_CHAIN,
            bf.ANCHOR_JSON,
            Verdict.NOT_CHECKED,
            Reason.of(
                C.NO_TRUSTED_ENDPOINT, chain_id=anchor.chain_id, url=redact_url(anchor.rpc_url)
            ),
        )
        return
    from anchoring.chain import ChainUnreachableError  # web3: about 1 s

    unreachable: list[Reason] = []
    for url, entry in trust.endpoints:
        endpoint = f"{redact_url(url)} (trusted: {entry})"
        ctx.setup["rpc_url"] = endpoint
        try:
            seen = _read_back(url, anchor, trust)
        except ChainUnreachableError as exc:
            unreachable.append(
                Reason.of(C.ENDPOINT_UNREACHABLE, endpoint=endpoint, error=exc.message)
            )
            continue
        except AnchorError as exc:
            out.add(
                CheckId.ANCHOR_CHAIN,
                bf.ANCHOR_JSON,
                Verdict.FAIL,
                Reason.of(C.CHAIN_ERROR, error=exc.message, endpoint=endpoint),
            )
            return
        _judge_read_back(out, anchor, seen, trust, endpoint)
        return
    out.add(CheckId.ANCHOR_CHAIN, bf.ANCHOR_JSON, Verdict.NOT_CHECKED, unreachable)


def _read_back(url: str, anchor: AnchorReceipt, trust: ChainTrust) -> AnchorCheck:
    from anchoring.chain import check_anchor  # web3: about 1 s

    return check_anchor(
        url,
        chain_id=anchor.chain_id,
        contract_address=trust.registry or anchor.contract_address,
        transaction_hash=anchor.transaction_hash,
        root=bytes.fromhex(anchor.root.lower()[2:]),
        min_confirmations=trust.min_confirmations,
        submitters=trust.submitters or None,
    )


def _judge_read_back(
    out: Findings, anchor: AnchorReceipt, seen: AnchorCheck, trust: ChainTrust, endpoint: str
) -> None:
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
        differ = Reason.of(C.RECORD_DIFFERS, fields="; ".join(mismatches), endpoint=endpoint)
        out.add(CheckId.ANCHOR_CHAIN, bf.ANCHOR_JSON, Verdict.FAIL, differ)
        return
    found = Reason.of(
        C.ANCHOR_FOUND_DEVELOPMENT if trust.development else C.ANCHOR_FOUND,
        tx=anchor.transaction_hash,
        block=seen.block_number,
        chain_id=seen.chain_id,
        registry=seen.contract_address,
        submitter=seen.submitter,
        confirmations=seen.confirmations,
        endpoint=endpoint,
    )
    if trust.registry is None:
        # A trusted node confirms it, but the registry is the bundle's choice.
        out.add(
            CheckId.ANCHOR_CHAIN,
            bf.ANCHOR_JSON,
            Verdict.UNTRUSTED,
            (found, Reason.of(C.REGISTRY_NOT_YOURS)),
        )
        return
    out.add(CheckId.ANCHOR_CHAIN, bf.ANCHOR_JSON, Verdict.PASS, found)


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
