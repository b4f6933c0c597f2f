"""Officers' signatures over a sealed item's manifest (detached CMS).

The capturing officer signs first; further officers co-sign. Each officer
signs an item at most once, and every signature is verified before it is
stored: our own output is checked before it becomes evidence.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlmodel import Session, select

from evidence.model import officer_keys
from evidence.model.certificate_chain import load_chain_pem
from evidence.model.db import as_utc
from evidence.model.errors import AttributionError, LifecycleError
from evidence.model.records import CustodyAction, SignatureInfo, SignerInfo
from evidence.model.signatures import sign_manifest, verify_manifest_signature
from evidence.model.tables import ItemStatus, ManifestSignature, Officer
from evidence.services._context import ServiceContext
from evidence.services.cases import item_row
from evidence.services.officers import officer_row, require_chain

logger = logging.getLogger(__name__)

_SIGNABLE = (ItemStatus.SEALED, ItemStatus.TIMESTAMPED, ItemStatus.ANCHORED)


@dataclass(frozen=True, slots=True)
class _SigningRequest:
    """What signing needs, read in one short transaction."""

    item_id: str
    officer_id: str
    enforcement_id: str
    key_path: str
    certificate_pem: bytes
    """The officer's own certificate; the signature row keeps it."""
    chain_pem: bytes
    """The officer's certificate and the CA certificates imported with it."""
    manifest_bytes: bytes


class SignatureService:
    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def sign_item(
        self,
        item_id: str,
        enforcement_id: str,
        passphrase: str | bytes,
        *,
        role: str = "capture",
    ) -> SignatureInfo:
        """Sign a sealed item's manifest bytes with an officer's key (detached CMS).

        The capturing officer signs first (``role="capture"``); another officer
        co-signs later (``role="cosign"``). One signature per officer per item.
        """
        if role not in officer_keys.SIGNATURE_ROLES:
            roles = ", ".join(officer_keys.SIGNATURE_ROLES)
            raise ValueError(f"role must be one of {roles}, not {role!r}")
        request = self._signing_request(item_id, enforcement_id, role)
        eid = request.enforcement_id
        chain = load_chain_pem(request.chain_pem)
        certificate = chain.leaf
        now = self._ctx.clock()
        officer_keys.check_certificate_valid_at(certificate, now, eid)
        officer_keys.check_signing_key_usage(certificate, eid)
        signer_key = officer_keys.load_signer(
            officer_keys.Keystore(self._ctx.settings.home),
            eid,
            request.key_path,
            passphrase,
            certificate,
            chain.intermediates,
        )
        signature = sign_manifest(
            request.manifest_bytes,
            signer_key.key,
            signer_key.certificate,
            signing_time=now,
            chain=signer_key.chain,
        )
        # Check our own output before it becomes evidence.
        signer = verify_manifest_signature(request.manifest_bytes, signature)
        self._store_signature(request, role, signature, signer)
        logger.info("officer %s signed item %s (%s)", eid, request.item_id, role)
        return next(s for s in self.item_signatures(request.item_id) if s.enforcement_id == eid)

    def item_signatures(self, item_id: str) -> list[SignatureInfo]:
        """The item's manifest signatures, the capture signature first (bundle order)."""
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            infos: list[SignatureInfo] = []
            for index, row in enumerate(_signature_rows(session, item.id), start=1):
                officer = session.get(Officer, row.officer_id)
                assert officer is not None
                certificate = x509.load_pem_x509_certificate(row.certificate_pem)
                infos.append(
                    SignatureInfo(
                        id=row.id,
                        item_id=item.id,
                        index=index,
                        role=row.role,
                        officer_name=officer.name,
                        enforcement_id=officer.enforcement_id,
                        signed_at=as_utc(row.signed_at),
                        key_algorithm=officer_keys.key_algorithm_of(certificate.public_key()),
                        certificate_sha256=officer_keys.fingerprint(certificate),
                        certificate_subject=certificate.subject.rfc4514_string(),
                        signature_der=row.signature_der,
                        certificate_pem=row.certificate_pem,
                    )
                )
            return infos

    def verify_item_signatures(
        self, item_id: str, trust_roots: Sequence[x509.Certificate] | None = None
    ) -> list[SignerInfo]:
        """Re-verify every stored signature against the stored manifest; names each signer."""
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            if item.manifest_sha256 is None:
                raise LifecycleError(
                    f"item {item.id} is {ItemStatus(item.status).value}, not sealed"
                )
            manifest_bytes = self._ctx.store.read_bytes(item.manifest_sha256)
            return [
                verify_manifest_signature(manifest_bytes, row.signature_der, trust_roots)
                for row in _signature_rows(session, item.id)
            ]

    def _signing_request(self, item_id: str, enforcement_id: str, role: str) -> _SigningRequest:
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            if item.status not in _SIGNABLE or item.manifest_sha256 is None:
                raise LifecycleError(
                    f"item {item.id} is {ItemStatus(item.status).value}; "
                    "only a sealed item's manifest can be signed"
                )
            officer = officer_row(session, enforcement_id)
            chain = require_chain(officer)
            _check_may_sign(session, item.id, officer, role)
            return _SigningRequest(
                item_id=item.id,
                officer_id=officer.id,
                enforcement_id=officer.enforcement_id,
                key_path=officer.key_path,
                certificate_pem=chain.leaf.public_bytes(Encoding.PEM),
                chain_pem=chain.to_pem(),
                manifest_bytes=self._ctx.store.read_bytes(item.manifest_sha256),
            )

    def _store_signature(
        self, request: _SigningRequest, role: str, signature: bytes, signer: SignerInfo
    ) -> None:
        with self._ctx.session() as session:
            signing_officer = session.get(Officer, request.officer_id)
            assert signing_officer is not None
            # Again, inside the writing transaction: another process may have signed meanwhile.
            _check_may_sign(session, request.item_id, signing_officer, role)
            session.add(
                ManifestSignature(
                    id=self._ctx.new_id(),
                    item_id=request.item_id,
                    officer_id=request.officer_id,
                    role=role,
                    signed_at=signer.signing_time,
                    signature_der=signature,
                    certificate_pem=request.certificate_pem,
                )
            )
            signed_item = item_row(session, request.item_id)
            self._ctx.custody(
                session,
                CustodyAction.SIGN,
                item_id=request.item_id,
                case_id=signed_item.case_id,
                hash_before=signed_item.manifest_sha256 or "",
                hash_after=hashlib.sha256(signature).hexdigest(),
                details={"officer": request.enforcement_id, "role": role},
                # The officer signs with their own key: they are the one acting.
                officer=request.enforcement_id,
            )
            session.commit()


def _signature_rows(session: Session, item_id: str) -> list[ManifestSignature]:
    rows = session.exec(select(ManifestSignature).where(ManifestSignature.item_id == item_id)).all()
    # The capture signature is always number 1; co-signatures follow in time order.
    return sorted(rows, key=lambda r: (r.role != "capture", as_utc(r.signed_at), r.id))


def _check_may_sign(session: Session, item_id: str, officer: Officer, role: str) -> None:
    rows = _signature_rows(session, item_id)
    mine = next((r for r in rows if r.officer_id == officer.id), None)
    if mine is not None:
        raise LifecycleError(
            f"officer {officer.enforcement_id} has already signed item {item_id} "
            f"(as {mine.role}); a second signature by the same officer is refused"
        )
    capture_row = next((r for r in rows if r.role == "capture"), None)
    if role == "capture" and capture_row is not None:
        other = session.get(Officer, capture_row.officer_id)
        who = f"{other.name} ({other.enforcement_id})" if other else capture_row.officer_id
        raise LifecycleError(
            f"item {item_id} already carries the capture signature of {who}; "
            "a further officer co-signs (--cosign)"
        )
    item = item_row(session, item_id)
    if role == "capture" and item.officer_id is not None and item.officer_id != officer.id:
        acting = session.get(Officer, item.officer_id)
        who = f"{acting.name} ({acting.enforcement_id})" if acting else item.officer_id
        raise AttributionError(
            f"the capture signature on item {item_id} is the acting officer's, {who}; "
            f"officer {officer.enforcement_id} co-signs (--cosign)"
        )
    if role == "cosign" and capture_row is None:
        raise LifecycleError(
            f"item {item_id} has no capture signature yet; the capturing officer signs first"
        )
