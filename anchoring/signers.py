"""Who signs anchoring transactions: a raw key, a keystore account or the node's own account.

Keys stay in this process (eth-account signs locally) unless the signer is a
:class:`NodeAccount`, whose key the node holds. No function here logs, prints
or echoes key material, not even in an error message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from anchoring._rpc import checksum
from evidence.model.errors import ConfigurationError

WELL_KNOWN_DEV_KEYS = frozenset(
    {"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"},
)
"""anvil's published account 0 (duplicated from anchoring.anvil, not imported, so that
signing and checking never need the local-node module)."""


@dataclass(frozen=True, slots=True)
class NodeAccount:
    """Sign with an account the node itself holds unlocked (``eth_sendTransaction``).

    Consortium nodes (Besu, Geth with ``--unlock``, Quorum) often keep the
    submitter key in the node; the toolkit then never sees it.
    """

    address: str


Signer = str | LocalAccount | NodeAccount
"""A raw private key (hex), an eth-account ``LocalAccount`` or a :class:`NodeAccount`."""


@dataclass(frozen=True, slots=True)
class ResolvedSigner:
    """A signer made concrete: the local account (None for a node account) and its address."""

    account: LocalAccount | None
    address: str

    @property
    def key_is_public(self) -> bool:
        """Whether this is a published development key that anyone can sign with."""
        return self.account is not None and bytes(self.account.key).hex() in WELL_KNOWN_DEV_KEYS


def resolve_signer(signer: Signer) -> ResolvedSigner:
    """The account and checksummed address behind ``signer``."""
    if isinstance(signer, NodeAccount):
        return ResolvedSigner(None, checksum(signer.address))
    if isinstance(signer, str):
        try:
            account: LocalAccount = Account.from_key(signer)
        except (ValueError, TypeError) as exc:
            # Never echo the key: it may end up in logs or a terminal recording.
            raise ConfigurationError("the chain private key is not a valid secp256k1 key") from exc
        return ResolvedSigner(account, str(account.address))
    return ResolvedSigner(signer, str(signer.address))


def signer_address(signer: Signer) -> str:
    """The checksummed address that ``signer`` signs for."""
    return resolve_signer(signer).address


def load_keystore(path: Path, password: str) -> LocalAccount:
    """The account in an encrypted V3 keystore JSON (``Account.encrypt``, geth, ``cast wallet``)."""
    try:
        keystore = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read the keystore {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigurationError(f"the keystore {path} is not JSON") from exc
    try:
        key = Account.decrypt(keystore, password)
    except ValueError as exc:
        # eth-account says "MAC mismatch" for a wrong passphrase.
        raise ConfigurationError(
            f"cannot decrypt the keystore {path}: wrong passphrase or damaged file"
        ) from exc
    except (KeyError, TypeError) as exc:
        raise ConfigurationError(f"the keystore {path} is not a V3 keystore") from exc
    account: LocalAccount = Account.from_key(key)
    return account
