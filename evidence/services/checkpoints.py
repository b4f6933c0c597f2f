"""Chain checkpoints: a TSA token over the chain's head block, to anchor the anchor.

A chain witnessed only by its own nodes (the embedded anvil above all) gets
its history fixed in time by a third party: rewriting blocks older than a
checkpoint would contradict the TSA's token.
"""

from __future__ import annotations

import hashlib
import logging

from evidence.model.manifest import canonical_json
from evidence.model.tables import ChainCheckpoint
from evidence.services._context import ServiceContext
from evidence.services._rows import token_columns
from evidence.services.chains import ChainAccess
from evidence.services.results import CheckpointInfo
from evidence.services.timestamping import TimestampService

logger = logging.getLogger(__name__)


class ChainCheckpoints:
    def __init__(
        self, context: ServiceContext, chains: ChainAccess, timestamping: TimestampService
    ) -> None:
        self._ctx = context
        self._chains = chains
        self._timestamping = timestamping

    def timestamp_chain_head(self, *, batch_id: str | None = None) -> CheckpointInfo:
        """Timestamp the chain's latest block hash with the TSA and keep the token.

        The token's imprint is the SHA-256 of a canonical JSON statement naming
        chain id, block number and block hash, stored beside the token.
        """
        client, _local = self._chains.client()
        number, block_hash, block_time = client.head()
        statement = canonical_json(
            {
                "type": "evidence-toolkit chain checkpoint",
                "chain_id": client.chain_id,
                "network_name": client.network_name,
                "block_number": number,
                "block_hash": block_hash,
            }
        )
        token = self._timestamping.request_one(hashlib.sha256(statement).digest(), "checkpoint")
        checkpoint_id = self._ctx.new_id()
        with self._ctx.session() as session:
            session.add(
                ChainCheckpoint(
                    id=checkpoint_id,
                    created_at=self._ctx.clock(),
                    chain_id=client.chain_id,
                    network_name=client.network_name,
                    rpc_url=client.rpc_url,
                    block_number=number,
                    block_hash=block_hash,
                    block_time=block_time,
                    statement=statement.decode("utf-8"),
                    batch_id=batch_id,
                    **token_columns(token, with_hash_algorithm=False),
                )
            )
            session.commit()
        logger.info("chain %d block %d (%s) timestamped", client.chain_id, number, block_hash)
        return CheckpointInfo(
            id=checkpoint_id,
            chain_id=client.chain_id,
            block_number=number,
            block_hash=block_hash,
            statement=statement.decode("utf-8"),
            token=token,
        )
