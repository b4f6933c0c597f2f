"""Officers: their keys and certificates, and their place on cases.

An officer's private key lives in the keystore under the data directory,
encrypted under the officer's passphrase; the database keeps the public key
and the certificate the agency CA issued (or a self-signed one).
"""

from __future__ import annotations

import logging
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session, col, select

from evidence.model import custody as custody_log
from evidence.model import officer_keys
from evidence.model.certificate_chain import CertificateChain, load_chain_pem
from evidence.model.db import as_utc
from evidence.model.errors import (
    AttributionError,
    CertificateError,
    EvidenceError,
    NotFoundError,
)
from evidence.model.records import ActingOfficer, OfficerInfo, ReportSigner
from evidence.model.tables import Agency, Case, CaseOfficer, DefaultOfficer, Officer
from evidence.services._context import ServiceContext
from evidence.services.cases import case_info, case_row
from evidence.services.results import CaseInfo

logger = logging.getLogger(__name__)


def officer_row(session: Session, enforcement_id: str) -> Officer:
    officer = session.exec(
        select(Officer).where(Officer.enforcement_id == enforcement_id.strip())
    ).first()
    if officer is None:
        raise NotFoundError(
            f"no officer with enforcement ID {enforcement_id!r}; add one with "
            "'evidence officer add'"
        )
    return officer


def require_chain(officer: Officer) -> CertificateChain:
    """The officer's certificate with the CA certificates imported with it; signing
    without a certificate is refused."""
    if officer.certificate_pem is None:
        raise CertificateError(
            f"officer {officer.enforcement_id} has no certificate yet; import the one "
            "the agency CA issued ('evidence officer import-cert')"
        )
    # The column holds the officer's certificate first, then its issuers (PEM).
    return load_chain_pem(officer.certificate_pem)


def require_certificate(officer: Officer) -> bytes:
    """The officer's own certificate (PEM, without its issuers)."""
    return require_chain(officer).leaf.public_bytes(serialization.Encoding.PEM)


def case_officers(session: Session, case: Case) -> list[Officer]:
    """The officers assigned to the case (``evidence officer assign``), oldest first."""
    rows = session.exec(
        select(Officer)
        .join(CaseOfficer, col(CaseOfficer.officer_id) == col(Officer.id))
        .where(CaseOfficer.case_id == case.id)
        .order_by(col(Officer.created_at))
    ).all()
    return list(rows)


def default_officer_row(session: Session) -> Officer | None:
    """The officer this operating-system account captures as by default, if one is set."""
    row = session.get(DefaultOfficer, custody_log.operating_account())
    return session.get(Officer, row.officer_id) if row is not None else None


def acting_officer_row(session: Session, case: Case, enforcement_id: str | None) -> Officer:
    """The officer a capture into ``case`` is done by: the one named, else this account's
    default; always one of the case's officers.

    A case without officers takes no capture: nobody could answer for it.
    """
    on_case = case_officers(session, case)
    if not on_case:
        raise AttributionError(
            f"case {case.number} has no officers: assign one before capturing "
            f"('evidence officer assign {case.number} ENF_ID')"
        )
    listed = ", ".join(o.enforcement_id for o in on_case)
    if enforcement_id is None or not enforcement_id.strip():
        default = default_officer_row(session)
        if default is None or default.id not in {o.id for o in on_case}:
            raise AttributionError(
                f"name the acting officer: --officer ENF_ID (case {case.number}: {listed})"
            )
        return default
    officer = officer_row(session, enforcement_id)
    if officer.id not in {o.id for o in on_case}:
        raise AttributionError(
            f"officer {officer.enforcement_id} is not on case {case.number} ({listed}); "
            f"assign them first ('evidence officer assign {case.number} "
            f"{officer.enforcement_id}')"
        )
    return officer


def acting_officer_record(session: Session, officer: Officer) -> ActingOfficer:
    """The officer as the manifest names them, with their current certificate's fingerprint."""
    agency = session.get(Agency, officer.agency_id) if officer.agency_id else None
    fingerprint = ""
    if officer.certificate_pem is not None:
        fingerprint = officer_keys.fingerprint(
            x509.load_pem_x509_certificate(officer.certificate_pem)
        )
    return ActingOfficer(
        enforcement_id=officer.enforcement_id,
        name=officer.name,
        agency=agency.name if agency else "",
        certificate_sha256=fingerprint,
    )


class OfficerService:
    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def add_officer(
        self,
        name: str,
        enforcement_id: str,
        *,
        agency: str | None = None,
        passphrase: str | bytes,
        algorithm: str | None = None,
        self_signed: bool = True,
        validity_days: int | None = None,
    ) -> OfficerInfo:
        """Create an officer with a new signing key, encrypted under ``passphrase``.

        ``algorithm`` is one of ``officer_keys.KEY_ALGORITHMS`` (default ECDSA
        P-256). With ``self_signed`` the officer gets a self-signed certificate
        now, valid ``validity_days`` (default three years); otherwise take
        :meth:`officer_csr` to the agency CA and load what it issues with
        :meth:`import_officer_certificate` before signing.
        """
        if algorithm is None:
            algorithm = officer_keys.ECDSA_P256
        if validity_days is None:
            validity_days = officer_keys.DEFAULT_VALIDITY_DAYS
        enforcement_id = officer_keys.validate_enforcement_id(enforcement_id)
        subject = officer_keys.officer_subject(name, enforcement_id, agency)
        self._refuse_bad_input(enforcement_id, passphrase, algorithm, self_signed, validity_days)
        keystore = officer_keys.Keystore(self._ctx.settings.home)
        key, key_path = keystore.create_key(enforcement_id, algorithm, passphrase)
        now = self._ctx.clock()
        certificate_pem: bytes | None = None
        if self_signed:
            certificate = officer_keys.self_signed_certificate(
                key, subject, not_before=now, validity_days=validity_days
            )
            certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
        try:
            with self._ctx.session() as session:
                agency_id = self._agency_id(session, agency, now)
                officer = Officer(
                    id=self._ctx.new_id(),
                    agency_id=agency_id,
                    name=name.strip(),
                    enforcement_id=enforcement_id,
                    key_algorithm=algorithm,
                    key_path=key_path,
                    public_key_pem=officer_keys.public_key_pem(key),
                    certificate_pem=certificate_pem,
                    created_at=now,
                )
                session.add(officer)
                session.commit()
        except BaseException:
            # The key was made a moment ago for this officer only: without the
            # row it is unusable, and leaving it would block a retry.
            keystore.remove_new_key(key_path)
            raise
        logger.info("added officer %s (%s key)", enforcement_id, algorithm)
        return self.get_officer(enforcement_id)

    def get_officer(self, enforcement_id: str) -> OfficerInfo:
        with self._ctx.session() as session:
            return _officer_info(session, officer_row(session, enforcement_id))

    def list_officers(self) -> list[OfficerInfo]:
        with self._ctx.session() as session:
            rows = session.exec(select(Officer).order_by(col(Officer.created_at))).all()
            return [_officer_info(session, row) for row in rows]

    def officer_csr(self, enforcement_id: str, passphrase: str | bytes) -> bytes:
        """A PEM certificate signing request for the agency CA (unlocks the key)."""
        with self._ctx.session() as session:
            officer = officer_row(session, enforcement_id)
            agency = session.get(Agency, officer.agency_id) if officer.agency_id else None
            subject = officer_keys.officer_subject(
                officer.name, officer.enforcement_id, agency.name if agency else None
            )
            key_path, eid = officer.key_path, officer.enforcement_id
        key = officer_keys.Keystore(self._ctx.settings.home).load_key(eid, key_path, passphrase)
        request = officer_keys.certificate_request(key, subject)
        return request.public_bytes(serialization.Encoding.PEM)

    def import_officer_certificate(self, enforcement_id: str, cert_pem: bytes) -> OfficerInfo:
        """Attach the certificate the agency CA issued, with the CA certificates above it.

        ``cert_pem`` holds the officer's certificate and, in any order, the
        intermediate CA certificates (and the agency root, if given): each link
        is checked and the whole chain kept, so signatures embed the
        intermediates. A renewed certificate replaces the old one; signatures
        already made keep the certificate they were made with.
        """
        with self._ctx.session() as session:
            officer = officer_row(session, enforcement_id)
            chain = officer_keys.select_issued_chain(
                cert_pem, officer.public_key_pem, officer.enforcement_id, self._ctx.clock()
            )
            officer.certificate_pem = chain.to_pem()
            session.add(officer)
            session.commit()
            logger.info(
                "officer %s: imported certificate %s issued by %s (%d CA certificate(s) above it)",
                officer.enforcement_id,
                officer_keys.fingerprint(chain.leaf),
                chain.leaf.issuer.rfc4514_string(),
                len(chain.issuers),
            )
            return _officer_info(session, officer)

    def assign_officer(self, case_number: str, enforcement_id: str) -> CaseInfo:
        """Put an officer on a case (idempotent); the case's officer list names them."""
        with self._ctx.session() as session:
            case = case_row(session, case_number)
            officer = officer_row(session, enforcement_id)
            if session.get(CaseOfficer, (case.id, officer.id)) is None:
                session.add(CaseOfficer(case_id=case.id, officer_id=officer.id))
            lines = [line for line in case.officers.splitlines() if line]
            if not any(officer.enforcement_id in line for line in lines):
                lines.append(f"{officer.name} (执法证号 {officer.enforcement_id})")
                case.officers = "\n".join(lines)
                session.add(case)
            session.commit()
            session.refresh(case)
            return case_info(case)

    def set_default_officer(self, enforcement_id: str) -> OfficerInfo:
        """Captures by this operating-system account name this officer when they name none."""
        account = custody_log.operating_account()
        with self._ctx.session() as session:
            officer = officer_row(session, enforcement_id)
            row = session.get(DefaultOfficer, account)
            if row is None:
                row = DefaultOfficer(account=account, officer_id=officer.id)
            row.officer_id = officer.id
            session.add(row)
            session.commit()
            logger.info("default officer of %s: %s", account, officer.enforcement_id)
            return _officer_info(session, officer)

    def default_officer(self) -> OfficerInfo | None:
        """The officer this operating-system account captures as by default, if any."""
        with self._ctx.session() as session:
            row = default_officer_row(session)
            return _officer_info(session, row) if row is not None else None

    def report_signer(self, enforcement_id: str, passphrase: str | bytes) -> ReportSigner:
        """Unlock an officer's key for signing a report PDF (PAdES)."""
        with self._ctx.session() as session:
            officer = officer_row(session, enforcement_id)
            chain = require_chain(officer)
            eid, key_path, name = officer.enforcement_id, officer.key_path, officer.name
        officer_keys.check_certificate_valid_at(chain.leaf, self._ctx.clock(), eid)
        unlocked = officer_keys.load_signer(
            officer_keys.Keystore(self._ctx.settings.home), eid, key_path, passphrase, chain.leaf
        )
        return ReportSigner(
            key=unlocked.key,
            certificate=unlocked.certificate,
            # pyHanko embeds them: a verifier holding only the agency root builds the path.
            chain=chain.intermediates,
            label=f"{name}（执法证号 {eid}）",
            enforcement_id=eid,
        )

    def officer_certificates_pem(self) -> bytes | None:
        """Every officer's current certificate (PEM), or None when no officer has one.

        The officers' own certificates only: the CA certificates imported with
        them would vouch for every certificate their CA ever issued."""
        with self._ctx.session() as session:
            pems = [
                require_certificate(o)
                for o in session.exec(select(Officer)).all()
                if o.certificate_pem is not None
            ]
        return b"".join(pems) or None

    def _refuse_bad_input(
        self,
        enforcement_id: str,
        passphrase: str | bytes,
        algorithm: str,
        self_signed: bool,
        validity_days: int,
    ) -> None:
        """Refuse bad input before a key file exists."""
        officer_keys.passphrase_bytes(passphrase, enforcement_id)
        if algorithm not in officer_keys.KEY_ALGORITHMS:
            officer_keys.generate_key(algorithm)  # raises the one-line error
        if self_signed and validity_days < 1:
            raise CertificateError(
                f"a certificate must be valid for at least one day, not {validity_days}"
            )
        with self._ctx.session() as session:
            if _find_officer(session, enforcement_id) is not None:
                raise EvidenceError(f"officer {enforcement_id} already exists")

    def _agency_id(self, session: Session, agency: str | None, now: datetime) -> str | None:
        if not agency or not agency.strip():
            return None
        name = agency.strip()
        row = session.exec(select(Agency).where(Agency.name == name)).first()
        if row is None:
            row = Agency(id=self._ctx.new_id(), name=name, created_at=now)
            session.add(row)
            session.flush()
        return row.id


def _find_officer(session: Session, enforcement_id: str) -> Officer | None:
    return session.exec(
        select(Officer).where(Officer.enforcement_id == enforcement_id.strip())
    ).first()


def _officer_info(session: Session, officer: Officer) -> OfficerInfo:
    agency = session.get(Agency, officer.agency_id) if officer.agency_id else None
    certificate = (
        x509.load_pem_x509_certificate(officer.certificate_pem) if officer.certificate_pem else None
    )
    return OfficerInfo(
        id=officer.id,
        name=officer.name,
        enforcement_id=officer.enforcement_id,
        agency=agency.name if agency else "",
        key_algorithm=officer.key_algorithm,
        key_path=officer.key_path,
        created_at=as_utc(officer.created_at),
        certificate_sha256=officer_keys.fingerprint(certificate) if certificate else None,
        certificate_subject=certificate.subject.rfc4514_string() if certificate else "",
        certificate_issuer=certificate.issuer.rfc4514_string() if certificate else "",
        self_signed=officer_keys.is_self_signed(certificate) if certificate else False,
        not_valid_before=certificate.not_valid_before_utc if certificate else None,
        not_valid_after=certificate.not_valid_after_utc if certificate else None,
    )
