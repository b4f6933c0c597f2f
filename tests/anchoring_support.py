"""Synthetic sealed items for anchoring tests: no browser, the facade's own sealing."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from evidence.model.capture_record import (
    CapturedFile,
    CapturedPage,
    CaptureRecord,
    PageRendering,
    Provenance,
)
from evidence.model.tables import EvidenceItem
from evidence.services.officers import officer_row
from evidence.services.toolkit import Toolkit
from tests.helpers import ensure_officer


def seal_synthetic(kit: Toolkit, case_number: str, count: int, workdir: Path) -> list[str]:
    """``count`` sealed items, each with one small distinct file."""
    kit.create_case(case_number, "anchoring test", exist_ok=True)
    case_id = kit.get_case(case_number).id
    # Every sealed item names its acting officer, put on the case. Tests here share one
    # data directory (its officer key files) with a database each: a fresh ID per call.
    enforcement_id = ensure_officer(kit, case_number, f"SYN-{uuid.uuid4().hex[:8]}")
    with Session(kit.engine) as session:
        officer_id = officer_row(session, enforcement_id).id
    ids: list[str] = []
    for index in range(count):
        item_id = kit.new_id()
        now = datetime.now(UTC)
        with Session(kit.engine) as session:
            session.add(
                EvidenceItem(
                    id=item_id,
                    case_id=case_id,
                    requested_url=f"https://shop.example/item/{index}",
                    created_at=now,
                    officer_id=officer_id,
                )
            )
            session.commit()
        page = workdir / f"{item_id}.html"
        page.write_text(f"<p>item {index} {item_id}</p>", encoding="utf-8")
        record = CaptureRecord(
            page=CapturedPage(
                requested_url=f"https://shop.example/item/{index}",
                final_url=f"https://shop.example/item/{index}",
                redirect_chain=(),
                title=f"item {index}",
                http_status=200,
                server_ip="127.0.0.1",
                started_at=now,
                finished_at=now,
            ),
            rendering=PageRendering(viewport=(1280, 800)),
            provenance=Provenance(user_agent="synthetic", browser_version="none"),
            files=(CapturedFile(path=page, name="dom.html", role="dom", media_type="text/html"),),
        )
        kit.captures.seal(item_id, case_number, record)
        ids.append(item_id)
    return ids


def rpc(url: str, method: str, *params: Any) -> Any:
    """One raw JSON-RPC call (anvil's evm_snapshot / evm_revert / evm_mine)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise RuntimeError(reply["error"])
    return reply["result"]
