"""Test helpers that make sealed items without a browser (for core and anchoring tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from evidence.model.capture_options import CaptureOptions
from evidence.model.capture_record import (
    CapturedFile,
    CapturedPage,
    CaptureRecord,
    PageRendering,
    Provenance,
)
from evidence.model.errors import NotFoundError
from evidence.model.tables import EvidenceItem
from evidence.services.cases import case_row
from evidence.services.officers import officer_row
from evidence.services.results import ItemInfo
from evidence.services.toolkit import Toolkit

TEST_OFFICER_ID = "TEST-0001"
TEST_OFFICER_NAME = "测试员"
TEST_PASSPHRASE = "test-officer-passphrase"


def ensure_officer(
    kit: Toolkit,
    case_number: str,
    enforcement_id: str = TEST_OFFICER_ID,
    name: str = TEST_OFFICER_NAME,
) -> str:
    """Add the test officer (once) and put them on the case: every capture names its
    acting officer, one of the case's. Returns the enforcement ID to pass as ``officer``."""
    try:
        kit.get_officer(enforcement_id)
    except NotFoundError:
        kit.add_officer(name, enforcement_id, passphrase=TEST_PASSPHRASE)
    kit.assign_officer(case_number, enforcement_id)
    return enforcement_id


def seal_synthetic_item(
    kit: Toolkit, case_number: str, workdir: Path, label: str, *, officer: str = ""
) -> ItemInfo:
    """Record and seal an item from files written here, as a capture would.

    ``officer`` (an existing officer's enforcement ID) is the acting officer, put on the
    case; by default the test officer of :func:`ensure_officer`."""
    workdir.mkdir(parents=True, exist_ok=True)
    shot = workdir / "screenshot.png"
    shot.write_bytes(b"\x89PNG synthetic " + label.encode())
    dom = workdir / "dom.html"
    dom.write_text(f"<html><title>{label}</title></html>", encoding="utf-8")
    now = kit.clock()
    officer_id = (
        ensure_officer(kit, case_number, officer) if officer else ensure_officer(kit, case_number)
    )
    with Session(kit.engine) as session:
        case = case_row(session, case_number)
        item = EvidenceItem(
            id=kit.new_id(),
            case_id=case.id,
            requested_url=f"http://example.test/{label}",
            created_at=now,
            officer_id=officer_row(session, officer_id).id,
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


def capture_as_officer(
    kit: Toolkit,
    case_number: str,
    url: str,
    options: CaptureOptions | None = None,
    **circumstances: str,
) -> ItemInfo:
    """``kit.capture`` by the test officer, put on the case first (see :func:`ensure_officer`)."""
    officer = circumstances.pop("officer", "") or ensure_officer(kit, case_number)
    return kit.capture(case_number, url, options, officer=officer, **circumstances)
