"""The chain the toolkit anchors on: a configured RPC endpoint, or the embedded anvil node.

With no RPC URL configured, a local anvil node under the data directory is
started when first needed (development: witnessed by nobody else). A real
network is used only with a recorded or configured registry: the toolkit
never deploys there unasked.
"""

from __future__ import annotations

import contextlib
import logging

from anchoring.anvil import LocalChain, NodeRecord
from anchoring.chain import (
    ChainClient,
    ChainUnreachableError,
    NodeAccount,
    Signer,
    chain_head,
    check_anchor,
    load_keystore,
    recorded_registry,
)
from evidence.model.config import Settings
from evidence.model.errors import ConfigurationError, EvidenceError
from evidence.model.records import AnchorCheck, AnchorReceipt
from evidence.services.results import ChainStatus

logger = logging.getLogger(__name__)


class ChainAccess:
    """Chain clients for the configured chain, and the local node's lifecycle."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._local_chain: LocalChain | None = None

    def client(self, *, deploy: bool = False) -> tuple[ChainClient, LocalChain | None]:
        """A connected client with its registry, and the local node when that is the chain."""
        settings = self._settings
        if settings.rpc_url:
            client = ChainClient.connect(
                settings.rpc_url, _signer(settings), expected_chain_id=settings.chain_id
            )
            if settings.registry_address:
                client.use_registry(settings.registry_address)
            elif deploy:
                client.ensure_registry(settings.home)
            else:
                # Never deploy on a real network unasked: only a recorded registry is used.
                client.ensure_registry(settings.home, deploy=False)
            return client, None
        local = self._local()
        rpc_url = local.ensure_running()
        client = ChainClient.connect(
            rpc_url, local.private_key, development=True, network_name=local.network_name
        )
        if settings.registry_address:
            client.use_registry(settings.registry_address)
        else:
            client.ensure_registry(settings.home)
        return client, local

    def deploy_registry(self) -> str:
        """Deploy (or find the recorded) EvidenceRegistry on the configured chain."""
        client, _local = self.client(deploy=True)
        assert client.contract_address is not None
        return client.contract_address

    def authorize_submitter(self, address: str) -> str:
        """Let ``address`` anchor into the registry (the owner's key must be configured)."""
        client, _local = self.client()
        return client.authorize(address)

    def chain_status(self) -> ChainStatus:
        """The configured chain: reachable?, RPC URL, chain id, head, registry, local state."""
        settings = self._settings
        local = None if settings.rpc_url else LocalChain(settings.home)
        rpc_url = settings.rpc_url
        pid: int | None = None
        state_size: int | None = None
        if local is not None:
            pid = local.pid
            record = NodeRecord.load(local.record_path)
            rpc_url = record.rpc_url if record is not None and pid is not None else None
            with contextlib.suppress(OSError):
                state_size = local.state_path.stat().st_size
        chain_id = block = None
        registry = settings.registry_address
        running = False
        if rpc_url:
            try:
                chain_id, block, genesis = chain_head(rpc_url)
                running = True
                registry = registry or recorded_registry(settings.home, chain_id, genesis)
            except ChainUnreachableError:
                running = False
        return ChainStatus(
            local=local is not None,
            running=running,
            rpc_url=rpc_url,
            chain_id=chain_id,
            block_number=block,
            registry_address=registry,
            pid=pid,
            state_file_bytes=state_size,
        )

    def local_chain_rpc_url(self) -> str:
        """Start (if needed) the embedded anvil node and return its RPC URL."""
        return self._local().ensure_running()

    def local_chain_has_history(self) -> bool:
        """This data directory has run a local node (its state is on disk)."""
        chain = self._local()
        return chain.state_path.exists() or chain.good_state_path.exists()

    def local_chain_running(self) -> bool:
        return self._local().pid is not None

    def stop_local_chain(self) -> None:
        LocalChain(self._settings.home).stop()

    def forget_local_chain(self) -> None:
        """Drop this toolkit's handle on the local node: the next use finds or starts it afresh."""
        self._local_chain = None

    def recheck_rpc_url(self) -> str:
        """Where confirmed batches are re-read: the configured RPC, else the local node."""
        return self._settings.rpc_url or self.local_chain_rpc_url()

    def current_anchor_check(self, anchor: AnchorReceipt) -> AnchorCheck | None:
        """The chain's view of an anchor now, or None when it cannot be asked."""
        try:
            rpc = self._settings.rpc_url or (
                self.local_chain_rpc_url() if anchor.development else anchor.rpc_url
            )
            return check_anchor(
                rpc,
                chain_id=anchor.chain_id,
                contract_address=anchor.contract_address,
                transaction_hash=anchor.transaction_hash,
                root=bytes.fromhex(anchor.root.removeprefix("0x")),
                timeout_s=5.0,
            )
        except (EvidenceError, ValueError) as exc:
            logger.warning("confirmations of %s not queried: %s", anchor.transaction_hash, exc)
            return None

    def _local(self) -> LocalChain:
        if self._local_chain is None:
            self._local_chain = LocalChain(self._settings.home)
        return self._local_chain


def _signer(settings: Settings) -> Signer:
    """Who submits anchors on a configured network: node account, keystore or raw key."""
    if settings.chain_from:
        return NodeAccount(settings.chain_from)
    if settings.chain_keystore_path is not None:
        if settings.chain_keystore_password is None:
            raise ConfigurationError(
                "a chain keystore is configured without its passphrase "
                "(set EVIDENCE_CHAIN_KEYSTORE_PASSWORD)"
            )
        return load_keystore(settings.chain_keystore_path, settings.chain_keystore_password)
    if settings.chain_private_key:
        return settings.chain_private_key
    raise ConfigurationError(
        "an RPC URL is configured without a submitter: set EVIDENCE_CHAIN_KEYSTORE "
        "(+ _PASSWORD), EVIDENCE_CHAIN_FROM or EVIDENCE_CHAIN_PRIVATE_KEY"
    )
