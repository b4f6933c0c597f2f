"""An item's sealed files by name, for the agency service: listed, read, digest-checked.

A name is looked up among the item's recorded artifacts, never joined to a path,
so ``../`` or an absolute name finds nothing; the bytes come from the
content-addressed store by their SHA-256, which the store checks on read.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from evidence.model.errors import NotFoundError
from evidence.model.tables import Artifact, EvidenceItem
from evidence.services._context import ServiceContext
from evidence.services.cases import artifact_rows


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    name: str
    role: str
    media_type: str
    size: int
    sha256: str
    sm3: str


class ArtifactService:
    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def list_artifacts(self, item_id: str) -> list[ArtifactInfo]:
        """The item's sealed files (the item id given in full)."""
        with self._ctx.session() as session:
            item = _exact_item(session, item_id)
            return [_info(a) for a in artifact_rows(session, item.id)]

    def read_artifact(self, item_id: str, name: str) -> tuple[ArtifactInfo, bytes]:
        """The artifact ``name`` of the item and its bytes; NotFoundError for any other name."""
        with self._ctx.session() as session:
            item = _exact_item(session, item_id)
            row = session.exec(
                select(Artifact).where(Artifact.item_id == item.id, Artifact.name == name)
            ).first()
            if row is None:
                raise NotFoundError("no such artifact")
            info = _info(row)
        return info, self._ctx.store.read_bytes(info.sha256)

    def manifest(self, item_id: str) -> bytes:
        """The sealed item's manifest bytes, as stored (digest-checked)."""
        with self._ctx.session() as session:
            digest = _exact_item(session, item_id).manifest_sha256
        if not digest:
            raise NotFoundError("the item is not sealed: it has no manifest")
        return self._ctx.store.read_bytes(digest)


def _exact_item(session: Session, item_id: str) -> EvidenceItem:
    """The item with exactly this id (no prefix matching: an API caller names it in full)."""
    item = session.get(EvidenceItem, item_id)
    if item is None:
        raise NotFoundError(f"no evidence item {item_id!r}")
    return item


def _info(row: Artifact) -> ArtifactInfo:
    return ArtifactInfo(
        name=row.name,
        role=row.role,
        media_type=row.media_type,
        size=row.size,
        sha256=row.sha256,
        sm3=row.sm3,
    )
