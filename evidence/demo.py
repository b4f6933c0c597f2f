"""The embedded default job: capture the bundled sample shop and verify the result.

This is what the README's first command runs on a fresh machine: the local
sample site on 127.0.0.1, the development TSA, the local anvil chain and
SQLite, so the whole path works with no network and no configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from evidence.api import CompletionResult, ItemInfo, Toolkit
from evidence.demo_site import DemoSite
from evidence.verify import VerificationReport

DEMO_CASE_NUMBER = "示例-2026-001"
DEMO_CASE_TITLE = "某网店销售假冒运动鞋案（示例）"
DEMO_CASE_CAUSE = "涉嫌销售假冒注册商标的商品"
DEMO_AGENCY = "示例市市场监督管理局（演示）"
DEMO_OFFICERS = ("张三（执法证号 DEMO-0001）", "李四（执法证号 DEMO-0002）")


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


def run_demo(
    toolkit: Toolkit, out_dir: Path, *, url: str | None = None, language: str = "zh"
) -> DemoResult:
    """Capture, seal, timestamp, anchor, report, export and verify one page."""
    toolkit.create_case(
        DEMO_CASE_NUMBER,
        DEMO_CASE_TITLE,
        cause=DEMO_CASE_CAUSE,
        agency=DEMO_AGENCY,
        officers=DEMO_OFFICERS,
        exist_ok=True,
    )
    with _target(url) as target:
        item = toolkit.capture(DEMO_CASE_NUMBER, target)
    completion: CompletionResult = toolkit.complete(item.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"evidence-{item.id[:8]}"
    report_path = toolkit.report(item.id, out_dir / f"{stem}.pdf", language=language)
    bundle_path = toolkit.export(item.id, out_dir / f"{stem}.zip", language=language)
    verification = toolkit.verify(bundle_path)
    return DemoResult(
        item=completion.item,
        pending=completion.pending,
        report_path=report_path,
        bundle_path=bundle_path,
        verification=verification,
    )
