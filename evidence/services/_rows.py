"""Stored rows to typed records and back, for the services that share the tables."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from evidence.model.db import as_utc
from evidence.model.records import AnchorReceipt, TimestampToken
from evidence.model.tables import AnchorRecord, TimestampRecord

_T = TypeVar("_T")


def token_from_row(row: TimestampRecord) -> TimestampToken:
    return TimestampToken(
        tsa_url=row.tsa_url,
        response_der=row.response_der,
        token_der=row.token_der,
        gen_time=as_utc(row.gen_time),
        serial_number=int(row.serial_number),
        policy_oid=row.policy_oid,
        hash_algorithm=row.hash_algorithm,
        message_imprint=row.message_imprint,
        nonce=None if row.nonce is None else int(row.nonce),
        tsa_subject=row.tsa_subject,
        tsa_certificate_pem=row.tsa_certificate_pem,
        trust_root_pem=row.trust_root_pem,
        development=row.development,
    )


def token_columns(token: TimestampToken, *, with_hash_algorithm: bool = True) -> dict[str, Any]:
    """The columns a stored token has, in TimestampRecord and ChainCheckpoint alike."""
    columns: dict[str, Any] = {
        "tsa_url": token.tsa_url,
        "gen_time": token.gen_time,
        # Serials and nonces reach 160 bits: stored as decimal strings.
        "serial_number": str(token.serial_number),
        "policy_oid": token.policy_oid,
        "message_imprint": token.message_imprint,
        "nonce": None if token.nonce is None else str(token.nonce),
        "tsa_subject": token.tsa_subject,
        "development": token.development,
        "response_der": token.response_der,
        "token_der": token.token_der,
        "tsa_certificate_pem": token.tsa_certificate_pem,
        "trust_root_pem": token.trust_root_pem,
    }
    if with_hash_algorithm:
        columns["hash_algorithm"] = token.hash_algorithm
    return columns


def timestamp_row(row_id: str, item_id: str, token: TimestampToken) -> TimestampRecord:
    return TimestampRecord(id=row_id, item_id=item_id, **token_columns(token))


def receipt_from_row(row: AnchorRecord, item_digest: str) -> AnchorReceipt:
    return AnchorReceipt(
        chain_id=row.chain_id,
        network_name=row.network_name,
        rpc_url=row.rpc_url,
        contract_address=row.contract_address,
        transaction_hash=row.transaction_hash,
        block_number=row.block_number,
        block_hash=row.block_hash,
        block_time=as_utc(row.block_time),
        root=row.root,
        submitter=row.submitter,
        reference=row.reference,
        development=row.development,
        leaf=item_digest,
        leaf_index=row.leaf_index,
        tree_size=row.tree_size,
        proof=tuple(json.loads(row.proof)),
    )


def chunks(values: list[_T], size: int) -> list[list[_T]]:
    # SQLite caps bound parameters per statement.
    return [values[i : i + size] for i in range(0, len(values), size)]
