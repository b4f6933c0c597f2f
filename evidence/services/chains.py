"""The chain the toolkit anchors on: a configured RPC endpoint, or the embedded anvil node.

With no RPC URL configured, a local anvil node under the data directory is
started when first needed (development: witnessed by nobody else). A real
network is used only with a recorded or configured registry: the toolkit
never deploys there unasked.
"""

from __future__ import annotations

import contextlib
import logging

from anchoring.anvil import DEV_PRIVATE_KEY, LocalChain, NodeRecord
from anchoring.chain import (
    ChainClient,
    ChainUnreachableError,
    NodeAccount,
    NoDeploymentError,
    NotAuthorizedError,
    Signer,
    chain_head,
    check_anchor,
    has_deployments,
    load_keystore,
    recorded_registry,
)
from evidence.model.config import Settings
from evidence.model.errors import ConfigurationError, EvidenceError
from evidence.model.records import AnchorCheck, AnchorReceipt, LocalChainIdentity
from evidence.model.redaction import redact_url
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
        client = self._local_client(local, local.ensure_running())
        local.fund(client.submitter)
        if settings.registry_address:
            client.use_registry(settings.registry_address)
        else:
            client.ensure_registry(settings.home)
        _authorise_home_key(client, local)
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
            rpc_url=redact_url(rpc_url) if rpc_url else None,
            chain_id=chain_id,
            block_number=block,
            registry_address=registry,
            pid=pid,
            state_file_bytes=state_size,
        )

    def local_chain_identity(self) -> LocalChainIdentity:
        """What a verifier must trust for this data directory's local-chain anchors.

        The chain id, the node's loopback RPC URL, the registry and this data
        directory's own submitter address: the values an expert puts in a trust
        configuration. The node is started only if it is not running, and stopped
        again afterwards. Raises :class:`NoDeploymentError` when this data directory
        has no registry on its local chain yet (nothing was anchored or deployed).
        """
        settings = self._settings
        local = self._local()
        if not (self.local_chain_has_history() and has_deployments(settings.home)):
            raise _no_local_registry()
        was_running = local.pid is not None
        try:
            client = self._local_client(local, local.ensure_running())
            if settings.registry_address and not settings.rpc_url:
                registry: str | None = settings.registry_address
            else:
                registry = recorded_registry(settings.home, client.chain_id, client.genesis_hash())
            if registry is None or not client.has_registry_code(registry):
                raise _no_local_registry()
            client.use_registry(registry)
            return LocalChainIdentity(
                chain_id=client.chain_id,
                rpc_url=client.rpc_url,
                registry=str(client.contract_address),
                submitter=client.submitter,
            )
        finally:
            if not was_running:
                local.stop()

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

    @staticmethod
    def _local_client(local: LocalChain, rpc_url: str) -> ChainClient:
        """A client on the local node that signs with this home's own key."""
        return ChainClient.connect(
            rpc_url, local.submitter_key(), development=True, network_name=local.network_name
        )

    def _local(self) -> LocalChain:
        if self._local_chain is None:
            self._local_chain = LocalChain(self._settings.home)
        return self._local_chain


def _authorise_home_key(client: ChainClient, local: LocalChain) -> None:
    """Let this home's own key anchor into a registry that anvil's published key owns.

    Data directories from before the per-home key deployed their registry with
    that key, which therefore owns it: it authorises the home key once, and the
    home key anchors from then on. A registry owned by anyone else must be
    re-authorised by its owner; the toolkit never falls back to the public key.
    """
    if client.is_authorized(client.submitter):
        return
    owner = client.registry_owner()
    dev = ChainClient.connect(
        client.rpc_url, DEV_PRIVATE_KEY, development=True, network_name=local.network_name
    )
    if owner != dev.submitter:
        raise NotAuthorizedError(
            f"anchor: this data directory's submitter {client.submitter} may not anchor into "
            f"the local registry {client.contract_address}, whose owner is {owner}",
            hint=f"Restore {local.submitter_key_path} from a backup of this data directory, "
            "or have the owner authorise the address.",
        )
    local.fund(dev.submitter)
    dev.use_registry(str(client.contract_address))
    dev.authorize(client.submitter)
    logger.info(
        "authorised this data directory's submitter %s in the local registry %s "
        "(owned by anvil's published key); it anchors from now on",
        client.submitter,
        client.contract_address,
    )


def _no_local_registry() -> NoDeploymentError:
    return NoDeploymentError(
        "this data directory has no EvidenceRegistry on its local chain yet",
        hint="Anchor an item (evidence complete / evidence anchor) or run `evidence chain deploy`.",
    )


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
