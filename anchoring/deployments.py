"""Which EvidenceRegistry a data directory uses on each chain: ``<home>/chain/deployment.json``.

Deployments are keyed by chain id and genesis block hash, so a fresh
development chain (new genesis) gets a new registry while a restarted one
keeps its own. The file is read and rewritten under a lock: two processes
deploying at once would otherwise record two registries.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anchoring._rpc import checksum, load_contract_artifact
from evidence.model.errors import AnchorError, ConfigurationError

if TYPE_CHECKING:
    from anchoring.chain import ChainClient

logger = logging.getLogger(__name__)

DEPLOYMENT_FILE = Path("chain") / "deployment.json"
"""Where :func:`ensure_registry` remembers deployments, relative to the home."""


class NoDeploymentError(ConfigurationError):
    """No EvidenceRegistry is known for the chain: nothing has been deployed (or recorded)."""


def recorded_registry(home: Path, chain_id: int, genesis_hash: str) -> str | None:
    """The registry :func:`ensure_registry` recorded for a chain, if any."""
    entry = _load_json_object(Path(home) / DEPLOYMENT_FILE).get(f"{chain_id}:{genesis_hash}")
    if isinstance(entry, dict) and "address" in entry:
        return str(entry["address"])
    return None


def has_deployments(home: Path) -> bool:
    """Whether this data directory has recorded a registry on any chain."""
    return bool(_load_json_object(Path(home) / DEPLOYMENT_FILE))


def ensure_registry(client: ChainClient, home: Path, *, deploy: bool = True) -> str:
    """The registry ``client`` anchors into on its chain, deploying it on first use.

    With ``deploy=False`` (real networks: deploying costs money and creates a
    registry others must learn about) a chain without a recorded registry is a
    :class:`NoDeploymentError` instead. A recorded address whose code is not this
    build's registry (the chain lost it, or the contract changed) is deployed again.
    """
    record_path = Path(home) / DEPLOYMENT_FILE
    record_path.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(record_path.with_suffix(".lock")):
        genesis = client.genesis_hash()
        key = f"{client.chain_id}:{genesis}"
        records = _load_json_object(record_path)
        entry = records.get(key)
        if isinstance(entry, dict) and "address" in entry:
            address = checksum(str(entry["address"]))
            if client.has_registry_code(address):
                client.contract_address = address
                return address
            if not deploy:
                raise ConfigurationError(
                    f"the registry recorded for chain {client.chain_id} ({address}) has no "
                    "EvidenceRegistry code any more"
                )
            logger.warning("no registry code at recorded %s on %s; redeploying", address, key)
        if not deploy:
            raise NoDeploymentError(
                f"no EvidenceRegistry known on chain {client.chain_id}",
                hint="Set EVIDENCE_REGISTRY_ADDRESS or run `evidence chain deploy`.",
            )
        address = client.deploy_registry()
        artifact = load_contract_artifact()
        records[key] = {
            "address": address,
            "chain_id": client.chain_id,
            "compiler": artifact.compiler_version,
            "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "deployer": client.submitter,
            "genesis_hash": genesis,
            "network_name": client.network_name,
            "source_sha256": artifact.source_sha256,
        }
        _write_json_atomically(record_path, records)
        return address


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _load_json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise AnchorError(f"anchor: {path} is unreadable: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _write_json_atomically(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
