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
from datetime import datetime
from typing import Any

from evidence.model import safe_json
from evidence.model.capture_options import StepAction
from evidence.model.capture_record import (
    AnnotatedVideo,
    CapturedPage,
    CaptureFlag,
    CaptureRecord,
    EnvironmentCheck,
    EnvironmentStatus,
    EnvironmentSummary,
    HostRecord,
    HttpExchange,
    Interaction,
    PageRendering,
    Provenance,
    ScreenshotLayout,
    ScreenshotTile,
    StepResult,
    TlsOrigin,
)
from evidence.model.environment_messages import EnvironmentFinding
from evidence.model.errors import BundleError
from evidence.model.hashing import Digests, digest_bytes
from evidence.model.records import ActingOfficer, isoformat

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
    acting_officer: ActingOfficer | None = None
    """The officer who performed the capture. None only in manifests sealed before
    captures named their officer: those keep their exact bytes, so the key is absent."""
    place: str | None = None
    """地点 of the capture (None: absent, as in older manifests)."""
    purpose: str | None = None
    """目的 of the capture (None: absent, as in older manifests)."""

    def to_json(self) -> dict[str, Any]:
        optional: dict[str, Any] = {}
        if self.acting_officer is not None:
            optional["acting_officer"] = self.acting_officer.to_json()
        if self.place is not None:
            optional["place"] = self.place
        if self.purpose is not None:
            optional["purpose"] = self.purpose
        return {
            **optional,
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
            acting_officer=_acting_officer(raw.get("acting_officer")),
            place=_optional_str(raw, "place"),
            purpose=_optional_str(raw, "purpose"),
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


def _acting_officer(raw: Any) -> ActingOfficer | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("acting_officer is not an object")
    return ActingOfficer(
        enforcement_id=_str(raw, "enforcement_id"),
        name=_str(raw, "name"),
        agency=_str(raw, "agency"),
        certificate_sha256=_str(raw, "certificate_sha256"),
    )


def _optional_str(obj: Any, key: str) -> str | None:
    return None if key not in obj else _str(obj, key)


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


# --- the capture record's manifest form -----------------------------------------
#
# Sealed manifests hold the capture as one flat object. The record groups its
# facts by domain; each group maps onto its own flat keys here, so the grouping
# never changes a byte of a manifest (tests/fixtures/capture_records holds the
# exact form).


def capture_to_json(record: CaptureRecord) -> dict[str, Any]:
    """The capture metadata as it appears in the manifest (no local paths)."""
    return {
        **_page_to_json(record.page),
        **_rendering_to_json(record.rendering, record.screenshots),
        **_interaction_to_json(record.interaction),
        **_provenance_to_json(record.provenance),
        **_environment_to_json(record.environment),
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
        # Through the enums: a caller's plain string is checked, and the manifest holds the value.
        "flags": [CaptureFlag(flag).value for flag in record.flags],
    }


def capture_from_json(raw: dict[str, Any]) -> CaptureRecord:
    """Rebuild the capture record from its manifest form (files are not included).

    Raises ``ValueError`` for a flag, step action or check status this toolkit
    never writes: the stored form is the toolkit's own.
    """
    return CaptureRecord(
        page=_page_from_json(raw),
        rendering=_rendering_from_json(raw),
        provenance=_provenance_from_json(raw),
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
        flags=tuple(CaptureFlag(str(f)) for f in raw.get("flags", ())),
        screenshots=_screenshots_from_json(raw),
        interaction=_interaction_from_json(raw),
        environment=_environment_from_json(raw),
    )


def _when(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _page_to_json(page: CapturedPage) -> dict[str, Any]:
    return {
        "requested_url": page.requested_url,
        "final_url": page.final_url,
        "redirect_chain": list(page.redirect_chain),
        "started_at": isoformat(page.started_at),
        "finished_at": isoformat(page.finished_at),
        "page_title": page.title,
        "http_status": page.http_status,
        "server_ip": page.server_ip,
    }


def _page_from_json(raw: dict[str, Any]) -> CapturedPage:
    return CapturedPage(
        requested_url=str(raw["requested_url"]),
        final_url=str(raw["final_url"]),
        redirect_chain=tuple(str(u) for u in raw.get("redirect_chain", ())),
        title=str(raw.get("page_title", "")),
        http_status=raw.get("http_status"),
        server_ip=raw.get("server_ip"),
        started_at=_when(raw["started_at"]),
        finished_at=_when(raw["finished_at"]),
    )


def _rendering_to_json(rendering: PageRendering, shots: ScreenshotLayout) -> dict[str, Any]:
    """The screen, the device emulated on it, and how the page was photographed."""
    return {
        "viewport": {"width": rendering.viewport[0], "height": rendering.viewport[1]},
        "device": {
            "name": rendering.device,
            "locale": rendering.locale,
            "timezone_id": rendering.timezone_id,
            "device_scale_factor": rendering.device_scale_factor,
            "is_mobile": rendering.is_mobile,
        },
        "page_height": shots.page_height,
        "screenshot_tiles": [
            {
                "index": t.index,
                "name": t.name,
                "y": t.y,
                "height": t.height,
                "pixel_y": t.pixel_y,
                "pixel_height": t.pixel_height,
            }
            for t in shots.tiles
        ],
        "screenshot_stitched": shots.stitched,
    }


def _rendering_from_json(raw: dict[str, Any]) -> PageRendering:
    viewport = raw.get("viewport") or {}
    device = raw.get("device") or {}
    return PageRendering(
        viewport=(int(viewport.get("width", 0)), int(viewport.get("height", 0))),
        device=str(device.get("name", "")),
        device_scale_factor=int(device.get("device_scale_factor", 1)),
        is_mobile=bool(device.get("is_mobile", False)),
        locale=str(device.get("locale", "")),
        timezone_id=str(device.get("timezone_id", "")),
    )


def _screenshots_from_json(raw: dict[str, Any]) -> ScreenshotLayout:
    return ScreenshotLayout(
        page_height=int(raw.get("page_height", 0)),
        tiles=tuple(
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
        stitched=bool(raw.get("screenshot_stitched", True)),
    )


def _interaction_to_json(interaction: Interaction) -> dict[str, Any]:
    """Navigation steps (进入步骤), the account used, and what the page did."""
    return {
        "steps": [
            {
                "index": r.index,
                "action": StepAction(r.action).value,
                "description": r.description,
                "started_at": isoformat(r.started_at),
                "finished_at": isoformat(r.finished_at),
                "outcome": r.outcome,
                "artifact": r.artifact,
            }
            for r in interaction.steps
        ],
        "account": {
            "label": interaction.account_label,
            "storage_state_sha256": interaction.storage_state_sha256,
        },
        "video_note": interaction.video_note,
        # Only when there is a video, so manifests sealed before it keep their bytes.
        **(
            {
                "video_span": {
                    "first_frame_at": isoformat(interaction.video_span[0]),
                    "last_frame_at": isoformat(interaction.video_span[1]),
                }
            }
            if interaction.video_span is not None
            else {}
        ),
        **(
            {"video_annotated": _annotated_to_json(interaction.video_annotated)}
            if interaction.video_annotated is not None
            else {}
        ),
        "dialogs": list(interaction.dialogs),
        "popups": list(interaction.popups),
        "downloads": list(interaction.downloads),
    }


def _interaction_from_json(raw: dict[str, Any]) -> Interaction:
    account = raw.get("account") or {}
    return Interaction(
        steps=tuple(
            StepResult(
                index=int(r["index"]),
                action=StepAction(str(r["action"])),
                description=str(r.get("description", "")),
                started_at=_when(r["started_at"]),
                finished_at=_when(r["finished_at"]),
                outcome=str(r.get("outcome", "")),
                artifact=str(r.get("artifact", "")),
            )
            for r in raw.get("steps", ())
        ),
        account_label=str(account.get("label", "")),
        storage_state_sha256=str(account.get("storage_state_sha256", "")),
        video_note=str(raw.get("video_note", "")),
        video_span=_video_span(raw.get("video_span")),
        video_annotated=_annotated_from_json(raw.get("video_annotated")),
        dialogs=tuple(str(d) for d in raw.get("dialogs", ())),
        popups=tuple(str(d) for d in raw.get("popups", ())),
        downloads=tuple(str(d) for d in raw.get("downloads", ())),
    )


def _video_span(raw: Any) -> tuple[datetime, datetime] | None:
    if not isinstance(raw, dict):
        return None
    return _when(raw["first_frame_at"]), _when(raw["last_frame_at"])


def _annotated_to_json(copy: AnnotatedVideo) -> dict[str, Any]:
    return {
        "path": copy.name,
        "derived_from": copy.source,
        "source_sha256": copy.source_sha256,
        "frame_count": copy.frame_count,
        "method": copy.method,
    }


def _annotated_from_json(raw: Any) -> AnnotatedVideo | None:
    if not isinstance(raw, dict):
        return None
    return AnnotatedVideo(
        name=_str(raw, "path"),
        source=_str(raw, "derived_from"),
        source_sha256=_str(raw, "source_sha256"),
        frame_count=_int(raw, "frame_count"),
        method=_str(raw, "method"),
    )


def _provenance_to_json(provenance: Provenance) -> dict[str, Any]:
    """The browser, the capturing machine, DNS answers and TLS chains."""
    return {
        "user_agent": provenance.user_agent,
        "browser_version": provenance.browser_version,
        "capture_host": provenance.capture_host,
        "outbound_ip": provenance.outbound_ip,
        # Only when an echo service said it: older manifests keep their bytes.
        **(
            {"outbound_ip_service": provenance.outbound_ip_service}
            if provenance.outbound_ip_service
            else {}
        ),
        "hosts": [
            {
                "host": h.host,
                "unicode_host": h.unicode_host,
                "addresses": list(h.addresses),
                "error": h.error,
            }
            for h in provenance.hosts
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
            for t in provenance.tls
        ],
    }


def _provenance_from_json(raw: dict[str, Any]) -> Provenance:
    def when(value: Any) -> datetime | None:
        return _when(value) if value else None

    return Provenance(
        user_agent=str(raw.get("user_agent", "")),
        browser_version=str(raw.get("browser_version", "")),
        capture_host=str(raw.get("capture_host", "")),
        outbound_ip=raw.get("outbound_ip"),
        outbound_ip_service=str(raw.get("outbound_ip_service") or ""),
        hosts=tuple(
            HostRecord(
                host=str(h["host"]),
                unicode_host=str(h.get("unicode_host", h["host"])),
                addresses=tuple(str(a) for a in h.get("addresses", ())),
                error=h.get("error"),
            )
            for h in raw.get("hosts", ())
        ),
        tls=tuple(
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
    )


def _environment_to_json(environment: EnvironmentSummary) -> dict[str, Any]:
    """The clean-environment check summary (the full document is an artifact)."""
    return {
        "environment": [_check_to_json(c) for c in environment.checks],
        "clock": {"offset_ms": environment.clock_offset_ms, "source": environment.clock_source},
    }


def _check_to_json(check: EnvironmentCheck) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": check.name,
        "status": EnvironmentStatus(check.status).value,
        "detail": check.detail,
    }
    # Only newer captures have coded findings: older manifests keep their bytes.
    if check.findings:
        entry["findings"] = [f.to_json() for f in check.findings]
    return entry


def _check_from_json(raw: dict[str, Any]) -> EnvironmentCheck:
    findings = (EnvironmentFinding.from_json(f) for f in raw.get("findings") or ())
    return EnvironmentCheck(
        str(raw["name"]),
        EnvironmentStatus(str(raw["status"])),
        str(raw.get("detail", "")),
        tuple(f for f in findings if f is not None),
    )


def _environment_from_json(raw: dict[str, Any]) -> EnvironmentSummary:
    clock = raw.get("clock") or {}
    offset = clock.get("offset_ms")
    return EnvironmentSummary(
        checks=tuple(_check_from_json(c) for c in raw.get("environment", ())),
        clock_offset_ms=int(offset) if isinstance(offset, int) else None,
        clock_source=str(clock.get("source", "")),
    )
