"""The database model: cases, evidence items and what was done to them.

An item moves one way through its lifecycle::

    capturing -> sealed -> timestamped -> anchored
        \\-> failed (capture did not finish; its working files are kept)

``sealed`` is only ever written in the same transaction that records every
artifact and the manifest, after their bytes are durably in the store, so a
crash can never leave an item that looks sealed but is not.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, DateTime, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class ItemStatus(enum.StrEnum):
    CAPTURING = "capturing"
    SEALED = "sealed"
    TIMESTAMPED = "timestamped"
    ANCHORED = "anchored"
    FAILED = "failed"


def _aware() -> Column:  # type: ignore[type-arg]
    # SQLite drops tzinfo; timezone=True keeps PostgreSQL honest and the
    # repository layer re-attaches UTC on read.
    return Column(DateTime(timezone=True), nullable=False)


def _aware_nullable() -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=True)


class Case(SQLModel, table=True):
    id: str = Field(primary_key=True)
    number: str = Field(index=True, unique=True)
    title: str
    cause: str = ""
    agency: str = ""
    officers: str = ""
    """Officer names with enforcement IDs, one per line."""
    created_at: datetime = Field(sa_column=_aware())
    place: str = ""
    """地点: where this case's captures are made, unless a capture says otherwise."""
    purpose: str = ""
    """目的: why this case's captures are made, unless a capture says otherwise."""


class EvidenceItem(SQLModel, table=True):
    id: str = Field(primary_key=True)
    case_id: str = Field(foreign_key="case.id", index=True)
    status: ItemStatus = Field(default=ItemStatus.CAPTURING, index=True)
    requested_url: str
    final_url: str = ""
    page_title: str = ""
    created_at: datetime = Field(sa_column=_aware())
    sealed_at: datetime | None = Field(default=None, sa_column=_aware_nullable())
    manifest_sha256: str | None = Field(default=None, index=True)
    manifest_sm3: str | None = None
    capture_json: str = ""
    """The capture record as canonical JSON (also inside the manifest)."""
    error: str = ""
    officer_id: str | None = Field(default=None, foreign_key="officer.id", index=True)
    """The officer who performed the capture (None: an item captured before captures
    named their officer)."""
    place: str = ""
    """地点 of this capture, as sealed in its manifest."""
    purpose: str = ""
    """目的 of this capture, as sealed in its manifest."""
    job_key: str | None = Field(default=None, unique=True, index=True)
    """The idempotency key of the capture job that made this item (None: not made by a
    job). Unique: a retried job finds its item by this key and never makes a second."""


class Artifact(SQLModel, table=True):
    id: str = Field(primary_key=True)
    item_id: str = Field(foreign_key="evidenceitem.id", index=True)
    name: str
    role: str
    media_type: str
    size: int
    sha256: str = Field(index=True)
    sm3: str


class TimestampRecord(SQLModel, table=True):
    id: str = Field(primary_key=True)
    item_id: str = Field(foreign_key="evidenceitem.id", index=True)
    tsa_url: str
    gen_time: datetime = Field(sa_column=_aware())
    serial_number: str
    """Decimal string: serials are up to 160 bits, beyond a database integer."""
    policy_oid: str
    hash_algorithm: str
    message_imprint: str
    nonce: str | None = None
    tsa_subject: str
    development: bool
    response_der: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    token_der: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    tsa_certificate_pem: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    trust_root_pem: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AnchorRecord(SQLModel, table=True):
    id: str = Field(primary_key=True)
    item_id: str = Field(foreign_key="evidenceitem.id", index=True)
    chain_id: int
    network_name: str
    rpc_url: str
    contract_address: str
    transaction_hash: str = Field(index=True)
    block_number: int
    block_hash: str
    block_time: datetime = Field(sa_column=_aware())
    root: str
    submitter: str
    reference: str
    development: bool
    batch_id: str | None = Field(default=None, foreign_key="anchorbatch.id", index=True)
    leaf_index: int = 0
    tree_size: int = 1
    proof: str = "[]"
    """JSON list of hex sibling hashes: the item's RFC 9162 inclusion proof."""
    superseded_by: str = ""
    """Why this anchor no longer counts (its transaction was dropped or reorganised);
    empty while it stands. Superseded rows are kept, never deleted."""


# --- people, signatures, custody, batched anchors --------------------------


class Agency(SQLModel, table=True):
    id: str = Field(primary_key=True)
    name: str = Field(unique=True)
    code: str = ""
    created_at: datetime = Field(sa_column=_aware())


class Officer(SQLModel, table=True):
    """An enforcement officer and the public half of their signing key.

    The private key never enters the database: it lives encrypted (PKCS#8,
    passphrase) in the data directory at ``key_path``.
    """

    id: str = Field(primary_key=True)
    agency_id: str | None = Field(default=None, foreign_key="agency.id", index=True)
    name: str
    enforcement_id: str = Field(unique=True, index=True)
    """执法证号."""
    key_algorithm: str
    key_path: str
    """Relative to the data directory."""
    public_key_pem: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    certificate_pem: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    created_at: datetime = Field(sa_column=_aware())


class DefaultOfficer(SQLModel, table=True):
    """The officer an operating-system account captures as when a capture names none
    (``evidence officer default``): a convenience for one officer's own workstation."""

    account: str = Field(primary_key=True)
    """``user@host`` of the operating-system account."""
    officer_id: str = Field(foreign_key="officer.id")


class CaseOfficer(SQLModel, table=True):
    case_id: str = Field(foreign_key="case.id", primary_key=True)
    officer_id: str = Field(foreign_key="officer.id", primary_key=True)


class ManifestSignature(SQLModel, table=True):
    """A detached CMS signature over an item's manifest bytes."""

    # One signature per officer per item, enforced by the database so two
    # processes cannot both add one.
    __table_args__ = (
        UniqueConstraint("item_id", "officer_id", name="uq_manifestsignature_item_officer"),
    )

    id: str = Field(primary_key=True)
    item_id: str = Field(foreign_key="evidenceitem.id", index=True)
    officer_id: str = Field(foreign_key="officer.id", index=True)
    role: str
    """``capture`` for the capturing officer, ``cosign`` for the second officer."""
    signed_at: datetime = Field(sa_column=_aware())
    signature_der: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    certificate_pem: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CustodyEvent(SQLModel, table=True):
    """One link of the append-only, hash-chained custody log."""

    seq: int = Field(primary_key=True)
    """1, 2, 3, ... with no gaps; the chain order."""
    id: str = Field(unique=True)
    at: datetime = Field(sa_column=_aware())
    actor: str
    action: str
    item_id: str | None = Field(default=None, index=True)
    case_id: str | None = Field(default=None, index=True)
    reason: str = ""
    hash_before: str = ""
    hash_after: str = ""
    details: str = ""
    """Canonical JSON of any further facts."""
    prev_hash: str
    event_hash: str = Field(unique=True)


class AnchorBatch(SQLModel, table=True):
    """One Merkle root over many items' manifest digests (and the custody-log head)."""

    id: str = Field(primary_key=True)
    root: str = Field(index=True)
    tree_size: int
    custody_head: str = ""
    custody_seq: int = 0
    created_at: datetime = Field(sa_column=_aware())
    status: str = "pending"
    """pending -> submitted -> confirmed, or failed (re-anchored later)."""
    chain_id: int | None = None
    network_name: str = ""
    rpc_url: str = ""
    contract_address: str = ""
    transaction_hash: str = ""
    block_number: int | None = None
    block_hash: str = ""
    block_time: datetime | None = Field(default=None, sa_column=_aware_nullable())
    submitter: str = ""
    development: bool = False
    error: str = ""


class ChainCheckpoint(SQLModel, table=True):
    """An RFC 3161 token over a chain's latest block: the chain's history fixed in time.

    A private chain is witnessed by nobody but its nodes; a TSA token over its
    head block hash proves that history (and every anchor in it) existed no
    later than the token's genTime. The token's imprint is the SHA-256 of
    ``statement`` (canonical JSON naming chain id, block number and hash).
    """

    id: str = Field(primary_key=True)
    created_at: datetime = Field(sa_column=_aware())
    chain_id: int = Field(index=True)
    network_name: str
    rpc_url: str
    block_number: int
    block_hash: str
    block_time: datetime = Field(sa_column=_aware())
    statement: str
    batch_id: str | None = Field(default=None, foreign_key="anchorbatch.id", index=True)
    """The batch whose anchoring triggered the checkpoint, if any."""
    tsa_url: str
    gen_time: datetime = Field(sa_column=_aware())
    serial_number: str
    policy_oid: str
    message_imprint: str
    nonce: str | None = None
    tsa_subject: str
    development: bool
    response_der: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    token_der: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    tsa_certificate_pem: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    trust_root_pem: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


# --- jobs for the workers (the outbox) --------------------------------------


class JobKind(enum.StrEnum):
    """What a worker job does (``evidence/services/jobs.py`` runs each)."""

    CAPTURE = "capture"
    """Capture a page and seal it: one item, found again by the job's key on a retry."""
    TIMESTAMP = "timestamp"
    """Timestamp one sealed item at the TSA."""
    ANCHOR_BATCH = "anchor_batch"
    """Anchor every timestamped item waiting, one transaction per batch."""


class JobStatus(enum.StrEnum):
    """queued -> published -> running -> succeeded | failed; cancelled before it runs."""

    QUEUED = "queued"
    """Written to the database, not yet handed to the broker."""
    PUBLISHED = "published"
    """Handed to the broker; no worker has started it."""
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Job(SQLModel, table=True):
    """One unit of work for the workers, written before it is published (the outbox).

    A broker that loses the message loses nothing: the sweeper publishes again every
    job still ``queued``/``published`` after a delay, and a running job whose worker
    died is taken over once its lease ends.
    """

    id: str = Field(primary_key=True)
    kind: JobKind = Field(index=True)
    payload: str = "{}"
    """Canonical JSON of the job's typed payload (case, URL, officer, item id, ...)."""
    idempotency_key: str = Field(unique=True, index=True)
    """The caller's key: submitting it again returns this job, never a second one."""
    status: JobStatus = Field(default=JobStatus.QUEUED, index=True)
    attempts: int = 0
    """How many times a worker started it."""
    last_error: str = ""
    result: str = ""
    """What the job made (a capture's or timestamp's item id, an anchor batch's ids)."""
    submitted_by: str = ""
    """The actor who submitted it (an enforcement ID, an account, a case system)."""
    created_at: datetime = Field(sa_column=_aware())
    updated_at: datetime = Field(sa_column=_aware())
    published_at: datetime | None = Field(default=None, sa_column=_aware_nullable())
    started_at: datetime | None = Field(default=None, sa_column=_aware_nullable())
    finished_at: datetime | None = Field(default=None, sa_column=_aware_nullable())
    lease_until: datetime | None = Field(default=None, sa_column=_aware_nullable())
    """While running: until when the worker holds it (after that another may take over)."""
    worker: str = ""
    """``host:pid`` of the worker process running it (or that last ran it)."""


class JobLease(SQLModel, table=True):
    """A named lease only one worker holds at a time (the anchor batch): taken by an
    insert, or by an update of an expired row, both atomic on SQLite and PostgreSQL."""

    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime = Field(sa_column=_aware())
