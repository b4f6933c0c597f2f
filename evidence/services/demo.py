"""The embedded default job: capture the bundled sample shop and verify the result.

This is what the README's first command runs on a fresh machine: the local
sample site on 127.0.0.1, the development TSA, the local anvil chain and
SQLite, so the whole path works with no network and no configuration. Two
demonstration officers (keys under the data directory, passphrase
:data:`DEMO_PASSPHRASE`, self-signed certificates) sign the manifest and the
report, as two officers would in a real case.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from evidence.model.capture_options import CaptureOptions, SafetyOptions
from evidence.model.errors import NotFoundError
from evidence.model.records import VerificationReport
from evidence.services.demo_site import DemoSite
from evidence.services.results import CompletionResult, ItemInfo
from evidence.services.toolkit import Toolkit

DEMO_CASE_NUMBER = "示例-2026-001"
DEMO_CASE_TITLE = "某网店销售假冒运动鞋案（示例）"
DEMO_CASE_CAUSE = "涉嫌销售假冒注册商标的商品"
DEMO_AGENCY = "示例市市场监督管理局（演示）"
DEMO_OFFICERS = (("张三", "DEMO-0001"), ("李四", "DEMO-0002"))
DEMO_PLACE = "示例市市场监督管理局电子数据取证室（演示）"
DEMO_PURPOSE = "固定涉嫌销售假冒注册商标商品的网店页面（演示）"
DEMO_REASONS = {
    "zh": ("演示：出具取证报告", "演示：导出证据包供本机核验"),
    "en": ("Demonstration: evidence report", "Demonstration: bundle exported to verify here"),
}
"""Why the demo makes its report and its bundle, in the report's language (custody log)."""
DEMO_PASSPHRASE = "demo-only-not-secret"
"""Protects the demonstration officers' keys; printed in the docs, so worthless as a secret."""


@dataclass(frozen=True, slots=True)
class DemoResult:
    item: ItemInfo
    pending: tuple[str, ...]
    report_path: Path
    bundle_path: Path
    verification: VerificationReport


@contextmanager
def _target(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    with DemoSite() as site:
        yield site.url


def _ensure_officers(toolkit: Toolkit) -> None:
    for name, enforcement_id in DEMO_OFFICERS:
        try:
            toolkit.get_officer(enforcement_id)
        except NotFoundError:
            toolkit.add_officer(
                name, enforcement_id, agency=DEMO_AGENCY, passphrase=DEMO_PASSPHRASE
            )
        toolkit.assign_officer(DEMO_CASE_NUMBER, enforcement_id)


def run_demo(
    toolkit: Toolkit, out_dir: Path, *, url: str | None = None, language: str = "zh"
) -> DemoResult:
    """Capture, seal, sign, timestamp, anchor, report, export and verify one page."""
    toolkit.create_case(
        DEMO_CASE_NUMBER,
        DEMO_CASE_TITLE,
        cause=DEMO_CASE_CAUSE,
        agency=DEMO_AGENCY,
        exist_ok=True,
        place=DEMO_PLACE,
        purpose=DEMO_PURPOSE,
    )
    _ensure_officers(toolkit)
    options = CaptureOptions()
    if url is None:
        # The sample shop is served on 127.0.0.1, which captures refuse by default.
        options = replace(options, safety=SafetyOptions(allow_private_targets=True))
    (capturing, _), (cosigning, _) = DEMO_OFFICERS[0][::-1], DEMO_OFFICERS[1][::-1]
    with _target(url) as target:
        item = toolkit.capture(DEMO_CASE_NUMBER, target, options, officer=capturing)
    toolkit.sign_item(item.id, capturing, DEMO_PASSPHRASE, role="capture")
    toolkit.sign_item(item.id, cosigning, DEMO_PASSPHRASE, role="cosign")
    completion: CompletionResult = toolkit.complete(item.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"evidence-{item.id[:8]}"
    report_reason, export_reason = DEMO_REASONS.get(language, DEMO_REASONS["en"])
    # Each officer signs in a step of their own, with their own key: the capturing
    # officer makes and signs the report, the second co-signs it afterwards.
    report_path = toolkit.report(
        item.id,
        out_dir / f"{stem}.pdf",
        language=language,
        sign_with=toolkit.report_signer(capturing, DEMO_PASSPHRASE),
        reason=report_reason,
    )
    toolkit.cosign_report(
        report_path, toolkit.report_signer(cosigning, DEMO_PASSPHRASE), reason=report_reason
    )
    bundle_path = toolkit.export(
        item.id,
        out_dir / f"{stem}.zip",
        language=language,
        sign_with=toolkit.report_signer(capturing, DEMO_PASSPHRASE),
        reason=export_reason,
    )
    # The demo is this machine checking its own work: it says so in the trust
    # configuration (development TSA and chain marked as such), as an expert would.
    toolkit.trust.trust_this_machine()
    verification = toolkit.verify(bundle_path)
    return DemoResult(
        item=completion.item,
        pending=completion.pending,
        report_path=report_path,
        bundle_path=bundle_path,
        verification=verification,
    )
