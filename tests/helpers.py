"""Test helpers that make sealed items without a browser (for core and anchoring tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from evidence.model.capture_record import (
    CapturedFile,
    CapturedPage,
    CaptureRecord,
    PageRendering,
    Provenance,
)
from evidence.model.tables import EvidenceItem
from evidence.services.cases import case_row
from evidence.services.results import ItemInfo
from evidence.services.toolkit import Toolkit


def seal_synthetic_item(kit: Toolkit, case_number: str, workdir: Path, label: str) -> ItemInfo:
    """Record and seal an item from files written here, as a capture would."""
    workdir.mkdir(parents=True, exist_ok=True)
    shot = workdir / "screenshot.png"
    shot.write_bytes(b"\x89PNG synthetic " + label.encode())
    dom = workdir / "dom.html"
    dom.write_text(f"<html><title>{label}</title></html>", encoding="utf-8")
    now = kit.clock()
    with Session(kit.engine) as session:
        case = case_row(session, case_number)
        item = EvidenceItem(
            id=kit.new_id(),
            case_id=case.id,
            requested_url=f"http://example.test/{label}",
            created_at=now,
        )
        session.add(item)
        session.commit()
        item_id = item.id
    record = CaptureRecord(
        page=CapturedPage(
            requested_url=f"http://example.test/{label}",
            final_url=f"http://example.test/{label}",
            redirect_chain=(f"http://example.test/{label}",),
            title=label,
            http_status=200,
            server_ip="127.0.0.1",
            started_at=now,
            finished_at=datetime.now(UTC),
        ),
        rendering=PageRendering(viewport=(1280, 800)),
        provenance=Provenance(user_agent="test", browser_version="none"),
        files=(
            CapturedFile(shot, "screenshot.png", "screenshot", "image/png"),
            CapturedFile(dom, "dom.html", "dom", "text/html; charset=utf-8"),
        ),
    )
    return kit.captures.seal(item_id, case_number, record)
