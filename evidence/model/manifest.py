"""The sealed manifest: canonical JSON naming every artifact with its digests.

The SHA-256 of the manifest's exact bytes is the value that is timestamped
(RFC 3161 message imprint) and anchored on chain, so its serialisation must
be canonical: keys sorted, no insignificant white space, UTF-8, integers and
strings only (no floats), in the spirit of RFC 8785. ``docs/manifest.md``
specifies the format for outside implementers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from evidence.model import safe_json
from evidence.model.errors import BundleError
from evidence.model.hashing import Digests, digest_bytes
from evidence.model.records import CaptureRecord, isoformat

MANIFEST_FORMAT = "evidence-toolkit/manifest/v1"
ARTIFACT_DIR = "artifacts"


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    path: str
    role: str
    media_type: str
    size: int
    sha256: str
    sm3: str

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "role": self.role,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
            "sm3": self.sm3,
        }


@dataclass(frozen=True, slots=True)
class Manifest:
    item_id: str
    case_number: str
    case_title: str
    sealed_at: str
    capture: dict[str, Any]
    artifacts: tuple[ManifestEntry, ...]
    tool: dict[str, Any]
    case_cause: str = ""
    """案由."""
    agency: str = ""
    officers: tuple[str, ...] = ()
    """The case's officers with their enforcement IDs (执法证号) when the item was sealed.
    Their signatures are detached (``signatures/`` in a bundle): a signature cannot sit
    inside the bytes it signs."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "item_id": self.item_id,
            "case": {
                "number": self.case_number,
                "title": self.case_title,
                "cause": self.case_cause,
                "agency": self.agency,
            },
            "officers": list(self.officers),
            "sealed_at": self.sealed_at,
            "capture": self.capture,
            "artifacts": [entry.to_json() for entry in self.artifacts],
            "tool": self.tool,
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    def digests(self) -> Digests:
        return digest_bytes(self.to_bytes())


def capture_to_json(record: CaptureRecord) -> dict[str, Any]:
    """The capture metadata as it appears in the manifest (no local paths)."""
    return {
        "requested_url": record.requested_url,
        "final_url": record.final_url,
        "redirect_chain": list(record.redirect_chain),
        "started_at": isoformat(record.started_at),
        "finished_at": isoformat(record.finished_at),
        "page_title": record.page_title,
        "http_status": record.http_status,
        "server_ip": record.server_ip,
        "user_agent": record.user_agent,
        "browser_version": record.browser_version,
        "viewport": {"width": record.viewport[0], "height": record.viewport[1]},
        "exchanges": [
            {
                "url": ex.url,
                "method": ex.method,
                "status": ex.status,
                "server_ip": ex.server_ip,
                "mime_type": ex.mime_type,
                "body_size": ex.body_size,
            }
            for ex in record.exchanges
        ],
        "warnings": list(record.warnings),
        **_capture_4b_to_json(record),
        **_capture_4a_to_json(record),
    }


def _capture_4b_to_json(record: CaptureRecord) -> dict[str, Any]:
    """Device, screenshot tiles, navigation steps (进入步骤) and page events."""
    return {
        "device": {
            "name": record.device,
            "locale": record.locale,
            "timezone_id": record.timezone_id,
            "device_scale_factor": record.device_scale_factor,
            "is_mobile": record.is_mobile,
        },
        "page_height": record.page_height,
        "screenshot_tiles": [
            {
                "index": t.index,
                "name": t.name,
                "y": t.y,
                "height": t.height,
                "pixel_y": t.pixel_y,
                "pixel_height": t.pixel_height,
            }
            for t in record.screenshot_tiles
        ],
        "screenshot_stitched": record.screenshot_stitched,
        "steps": [
            {
                "index": r.index,
                "action": r.action,
                "description": r.description,
                "started_at": isoformat(r.started_at),
                "finished_at": isoformat(r.finished_at),
                "outcome": r.outcome,
                "artifact": r.artifact,
            }
            for r in record.steps
        ],
        "account": {
            "label": record.account_label,
            "storage_state_sha256": record.storage_state_sha256,
        },
        "video_note": record.video_note,
        "dialogs": list(record.dialogs),
        "popups": list(record.popups),
        "downloads": list(record.downloads),
        "flags": list(record.flags),
    }


def parse_manifest(data: bytes) -> Manifest:
    """Parse and validate manifest bytes; raises BundleError naming what is wrong."""
    raw = safe_json.loads(data, "manifest.json")
    if not isinstance(raw, dict):
        raise BundleError("manifest.json: top level is not an object")
    if raw.get("format") != MANIFEST_FORMAT:
        raise BundleError(f"manifest.json: unknown format {raw.get('format')!r}")
    try:
        entries = tuple(
            ManifestEntry(
                path=_str(e, "path"),
                role=_str(e, "role"),
                media_type=_str(e, "media_type"),
                size=_int(e, "size"),
                sha256=_str(e, "sha256"),
                sm3=_str(e, "sm3"),
            )
            for e in raw["artifacts"]
        )
        manifest = Manifest(
            item_id=_str(raw, "item_id"),
            case_number=_str(raw["case"], "number"),
            case_title=_str(raw["case"], "title"),
            sealed_at=_str(raw, "sealed_at"),
            capture=dict(raw["capture"]),
            artifacts=entries,
            tool=dict(raw["tool"]),
            case_cause=_str(raw["case"], "cause"),
            agency=_str(raw["case"], "agency"),
            officers=tuple(str(o) for o in raw["officers"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"manifest.json: missing or malformed field ({exc})") from exc
    for entry in entries:
        if not entry.path.startswith(ARTIFACT_DIR + "/") or ".." in entry.path.split("/"):
            raise BundleError(
                f"manifest.json: artifact path {entry.path!r} is not under artifacts/"
            )
    if manifest.to_bytes() != data:
        raise BundleError("manifest.json is not in canonical form (it was re-serialised or edited)")
    return manifest


def _str(obj: Any, key: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


def _int(obj: Any, key: str) -> int:
    value = obj[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{key} is not an integer")
    return value


def capture_from_json(raw: dict[str, Any]) -> CaptureRecord:
    """Rebuild the capture record from its manifest form (files are not included)."""
    from datetime import datetime

    from evidence.model.records import HttpExchange

    def when(value: Any) -> datetime:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))

    viewport = raw.get("viewport") or {}
    return CaptureRecord(
        requested_url=str(raw["requested_url"]),
        final_url=str(raw["final_url"]),
        redirect_chain=tuple(str(u) for u in raw.get("redirect_chain", ())),
        started_at=when(raw["started_at"]),
        finished_at=when(raw["finished_at"]),
        page_title=str(raw.get("page_title", "")),
        http_status=raw.get("http_status"),
        server_ip=raw.get("server_ip"),
        user_agent=str(raw.get("user_agent", "")),
        browser_version=str(raw.get("browser_version", "")),
        viewport=(int(viewport.get("width", 0)), int(viewport.get("height", 0))),
        files=(),
        exchanges=tuple(
            HttpExchange(
                url=str(e["url"]),
                method=str(e["method"]),
                status=int(e["status"]),
                server_ip=e.get("server_ip"),
                mime_type=str(e.get("mime_type", "")),
                body_size=int(e.get("body_size", 0)),
            )
            for e in raw.get("exchanges", ())
        ),
        warnings=tuple(str(w) for w in raw.get("warnings", ())),
        **_capture_4b_from_json(raw),
        **_capture_4a_from_json(raw),
    )


def _capture_4b_from_json(raw: dict[str, Any]) -> dict[str, Any]:
    from datetime import datetime

    from evidence.model.records import ScreenshotTile, StepResult

    def when(value: Any) -> datetime:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))

    device = raw.get("device") or {}
    account = raw.get("account") or {}
    return {
        "device": str(device.get("name", "")),
        "locale": str(device.get("locale", "")),
        "timezone_id": str(device.get("timezone_id", "")),
        "device_scale_factor": int(device.get("device_scale_factor", 1)),
        "is_mobile": bool(device.get("is_mobile", False)),
        "page_height": int(raw.get("page_height", 0)),
        "screenshot_tiles": tuple(
            ScreenshotTile(
                index=int(t["index"]),
                name=str(t["name"]),
                y=int(t["y"]),
                height=int(t["height"]),
                pixel_y=int(t["pixel_y"]),
                pixel_height=int(t["pixel_height"]),
            )
            for t in raw.get("screenshot_tiles", ())
        ),
        "screenshot_stitched": bool(raw.get("screenshot_stitched", True)),
        "steps": tuple(
            StepResult(
                index=int(r["index"]),
                action=str(r["action"]),
                description=str(r.get("description", "")),
                started_at=when(r["started_at"]),
                finished_at=when(r["finished_at"]),
                outcome=str(r.get("outcome", "")),
                artifact=str(r.get("artifact", "")),
            )
            for r in raw.get("steps", ())
        ),
        "account_label": str(account.get("label", "")),
        "storage_state_sha256": str(account.get("storage_state_sha256", "")),
        "video_note": str(raw.get("video_note", "")),
        "dialogs": tuple(str(d) for d in raw.get("dialogs", ())),
        "popups": tuple(str(d) for d in raw.get("popups", ())),
        "downloads": tuple(str(d) for d in raw.get("downloads", ())),
        "flags": tuple(str(d) for d in raw.get("flags", ())),
    }


def _capture_4a_to_json(record: CaptureRecord) -> dict[str, Any]:
    """Provenance (DNS, TLS) and the clean-environment check summary."""
    return {
        "hosts": [
            {
                "host": h.host,
                "unicode_host": h.unicode_host,
                "addresses": list(h.addresses),
                "error": h.error,
            }
            for h in record.hosts
        ],
        "tls": [
            {
                "origin": t.origin,
                "protocol": t.protocol,
                "cipher": t.cipher,
                "subject": t.subject,
                "issuer": t.issuer,
                "not_before": isoformat(t.not_before) if t.not_before else None,
                "not_after": isoformat(t.not_after) if t.not_after else None,
                "subject_alt_names": list(t.subject_alt_names),
                "chain_sha256": list(t.chain_sha256),
                "certificate_error": t.certificate_error,
            }
            for t in record.tls
        ],
        "environment": [
            {"name": c.name, "status": c.status, "detail": c.detail} for c in record.environment
        ],
        "capture_host": record.capture_host,
        "outbound_ip": record.outbound_ip,
        "clock": {"offset_ms": record.clock_offset_ms, "source": record.clock_source},
    }


def _capture_4a_from_json(raw: dict[str, Any]) -> dict[str, Any]:
    from datetime import datetime

    from evidence.model.records import EnvironmentCheck, HostRecord, TlsOrigin

    def when(value: Any) -> datetime | None:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None

    clock = raw.get("clock") or {}
    offset = clock.get("offset_ms")
    return {
        "hosts": tuple(
            HostRecord(
                host=str(h["host"]),
                unicode_host=str(h.get("unicode_host", h["host"])),
                addresses=tuple(str(a) for a in h.get("addresses", ())),
                error=h.get("error"),
            )
            for h in raw.get("hosts", ())
        ),
        "tls": tuple(
            TlsOrigin(
                origin=str(t["origin"]),
                protocol=str(t.get("protocol", "")),
                cipher=str(t.get("cipher", "")),
                subject=str(t.get("subject", "")),
                issuer=str(t.get("issuer", "")),
                not_before=when(t.get("not_before")),
                not_after=when(t.get("not_after")),
                subject_alt_names=tuple(str(n) for n in t.get("subject_alt_names", ())),
                chain_sha256=tuple(str(f) for f in t.get("chain_sha256", ())),
                certificate_error=t.get("certificate_error"),
            )
            for t in raw.get("tls", ())
        ),
        "environment": tuple(
            EnvironmentCheck(str(c["name"]), str(c["status"]), str(c.get("detail", "")))
            for c in raw.get("environment", ())
        ),
        "capture_host": str(raw.get("capture_host", "")),
        "outbound_ip": raw.get("outbound_ip"),
        "clock_offset_ms": int(offset) if isinstance(offset, int) else None,
        "clock_source": str(clock.get("source", "")),
    }
