"""The self-contained evidence bundle: one zip an expert can verify offline.

Members are stored uncompressed so that ``unzip`` followed by ``sha256sum -c``
works with nothing but stock tools, and so a damaged byte stays confined to
the member that holds it. Timestamps inside the zip come from the bundle's
creation time, which makes the bytes reproducible for the same inputs.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from evidence.model.errors import IntegrityError, ReportError
from evidence.model.hashing import CHUNK_SIZE, DualHasher, digest_bytes
from evidence.model.manifest import canonical_json, parse_manifest
from evidence.model.merkle import InclusionProof, printf_bytes, proof_steps
from evidence.model.records import AnchorReceipt, isoformat
from reports.bundle import layout as bf


def write_bundle(data: bf.BundleInput, out_path: Path) -> Path:
    """Write the bundle zip atomically to ``out_path`` and return it."""
    members = item_members(data)
    date_time = data.created_at.utctimetuple()[:6]
    with _atomic_zip(out_path) as zf:
        sha, _ = _write_tree(zf, "", members, date_time)
        _check_artifacts(data, "", sha)
    return out_path


@dataclass(frozen=True, slots=True)
class CaseBundleInput:
    """One case's bundles, written side by side under ``items/<item-id>/``."""

    case_number: str
    case_title: str
    created_at: datetime
    tool_version: str
    items: tuple[bf.BundleInput, ...]


def write_case_bundle(data: CaseBundleInput, out_path: Path) -> Path:
    """Write a case bundle: every item's bundle in its own folder, plus case-level sums.

    Each ``items/<item-id>/`` folder is exactly an item bundle (its own
    ``SHA256SUMS`` has paths relative to that folder, so ``evidence verify``
    and ``sha256sum -c`` work inside it). The root ``SHA256SUMS``/``SM3SUMS``
    list every file of the zip with root-relative paths.
    """
    ids = [item.item_id for item in data.items]
    if len(set(ids)) != len(ids):
        raise ReportError("a case bundle cannot hold the same item twice")
    date_time = data.created_at.utctimetuple()[:6]
    index = {
        "format": bf.CASE_BUNDLE_FORMAT,
        "case_number": data.case_number,
        "case_title": data.case_title,
        "created_at": isoformat(data.created_at),
        "tool_version": data.tool_version,
        "items": [
            {
                "item_id": item.item_id,
                "path": f"{bf.CASE_ITEMS_DIR}/{item.item_id}/",
                "manifest_sha256": digest_bytes(item.manifest_bytes).sha256,
                "has_timestamp": item.timestamp is not None,
                "has_anchor": item.anchor is not None,
            }
            for item in data.items
        ],
    }
    all_sha: list[str] = []
    all_sm3: list[str] = []
    with _atomic_zip(out_path) as zf:
        for item in sorted(data.items, key=lambda i: i.item_id):
            prefix = f"{bf.CASE_ITEMS_DIR}/{item.item_id}/"
            sha, sm3 = _write_tree(zf, prefix, item_members(item), date_time)
            _check_artifacts(item, prefix, sha)
            all_sha += sha
            all_sm3 += sm3
        top: list[tuple[str, bytes | Path]] = [
            (bf.CASE_INDEX, canonical_json(index)),
            (bf.README, case_readme(data).encode("utf-8")),
        ]
        sha, sm3 = _write_members(zf, "", top, date_time)
        all_sha += sha
        all_sm3 += sm3
        _write_sums(
            zf, "", sorted(all_sha, key=_sum_path), sorted(all_sm3, key=_sum_path), date_time
        )
    return out_path


def _check_artifacts(data: bf.BundleInput, prefix: str, sha256_lines: list[str]) -> None:
    """Refuse a bundle whose artifacts are not what its manifest says.

    The digests come from the one read that copies each file into the zip, so a
    damaged store is caught without reading every artifact a second time.
    """
    written = {}
    for line in sha256_lines:
        digest, _, name = line.rstrip("\n").partition("  ")
        written[name] = digest
    for entry in parse_manifest(data.manifest_bytes).artifacts:
        got = written.get(prefix + entry.path)
        if got != entry.sha256:
            raise IntegrityError(
                f"{entry.path} of item {data.item_id} no longer matches its sealed SHA-256 "
                f"{entry.sha256}; no bundle was written"
            )


def item_members(data: bf.BundleInput) -> list[tuple[str, bytes | Path]]:
    """The files of one item bundle (sums excluded), as (relative path, content)."""
    members: list[tuple[str, bytes | Path]] = [(bf.MANIFEST, data.manifest_bytes)]
    members.extend((name, source) for name, source in data.artifacts)
    if data.timestamp is not None:
        members.append((bf.TOKEN, data.timestamp.response_der))
        members.append((bf.TSA_CERT, data.timestamp.tsa_certificate_pem))
        members.append((bf.TSA_ROOT, data.timestamp.trust_root_pem))
        members.append((bf.TIMESTAMP_JSON, bf.timestamp_to_json(data.timestamp)))
    if data.anchor is not None:
        members.append((bf.ANCHOR_JSON, bf.anchor_to_json(data.anchor)))
    if data.custody_jsonl is not None:
        members.append((bf.CUSTODY_LOG, data.custody_jsonl))
    for stem, signature_der, certificate_pem in data.signatures:
        p7s, pem = bf.signature_members(stem)
        members.append((p7s, signature_der))
        members.append((pem, certificate_pem))
    members.append((bf.REPORT, data.report_pdf))
    members.append((bf.INSTRUCTIONS, verify_instructions(data).encode("utf-8")))
    members.append((bf.README, item_readme(data).encode("utf-8")))
    members.append(
        (
            bf.INDEX,
            canonical_json(
                {
                    "format": bf.BUNDLE_FORMAT,
                    "item_id": data.item_id,
                    "case_number": data.case_number,
                    "created_at": isoformat(data.created_at),
                    "tool_version": data.tool_version,
                    "has_timestamp": data.timestamp is not None,
                    "has_anchor": data.anchor is not None,
                    "has_custody_log": data.custody_jsonl is not None,
                }
            ),
        )
    )
    names = [name for name, _ in members]
    if len(set(names)) != len(names):
        raise ReportError("bundle would contain duplicate member names")
    for name in names:
        # Relative paths only: a recipient's unzip must never write outside its folder.
        if name.startswith("/") or ".." in name.split("/") or "\\" in name:
            raise ReportError(f"bundle member name {name!r} is not a safe relative path")
    return members


@contextmanager
def _atomic_zip(out_path: Path) -> Iterator[zipfile.ZipFile]:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out_path.parent, prefix=".bundle-", suffix=".zip")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            yield zf
        with tmp.open("rb") as stream:
            os.fsync(stream.fileno())
        os.replace(tmp, out_path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"cannot write the bundle {out_path}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_tree(
    zf: zipfile.ZipFile,
    prefix: str,
    members: list[tuple[str, bytes | Path]],
    date_time: tuple[int, int, int, int, int, int],
) -> tuple[list[str], list[str]]:
    """Write one bundle's files and its own sums under ``prefix``; return root-relative sums."""
    sha, sm3 = _write_members(zf, prefix, members, date_time)
    local_sha = [line.replace(f"  {prefix}", "  ", 1) for line in sha]
    local_sm3 = [line.replace(f"  {prefix}", "  ", 1) for line in sm3]
    sums = _write_sums(zf, prefix, local_sha, local_sm3, date_time)
    return sha + sums[0], sm3 + sums[1]


def _write_members(
    zf: zipfile.ZipFile,
    prefix: str,
    members: list[tuple[str, bytes | Path]],
    date_time: tuple[int, int, int, int, int, int],
) -> tuple[list[str], list[str]]:
    sha256_lines: list[str] = []
    sm3_lines: list[str] = []
    for name, source in sorted(members, key=lambda m: m[0]):
        full = prefix + name
        info = zipfile.ZipInfo(full, date_time=date_time)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        hasher = DualHasher()
        with zf.open(info, "w", force_zip64=_size(source) > 2**31) as out:
            for chunk in _chunks(source):
                hasher.update(chunk)
                out.write(chunk)
        digests = hasher.finalize()
        sha256_lines.append(f"{digests.sha256}  {full}\n")
        sm3_lines.append(f"{digests.sm3}  {full}\n")
    return sha256_lines, sm3_lines


def _write_sums(
    zf: zipfile.ZipFile,
    prefix: str,
    sha256_lines: list[str],
    sm3_lines: list[str],
    date_time: tuple[int, int, int, int, int, int],
) -> tuple[list[str], list[str]]:
    """Write the two sum files under ``prefix``; return their own root-relative sum lines."""
    sha_out: list[str] = []
    sm3_out: list[str] = []
    for name, lines in ((bf.CHECKSUMS, sha256_lines), (bf.SM3_CHECKSUMS, sm3_lines)):
        content = "".join(lines).encode("utf-8")
        info = zipfile.ZipInfo(prefix + name, date_time=date_time)
        info.external_attr = 0o644 << 16
        zf.writestr(info, content)
        digests = digest_bytes(content)
        sha_out.append(f"{digests.sha256}  {prefix}{name}\n")
        sm3_out.append(f"{digests.sm3}  {prefix}{name}\n")
    return sha_out, sm3_out


def _sum_path(line: str) -> str:
    return line.split("  ", 1)[1]


def _size(source: bytes | Path) -> int:
    return len(source) if isinstance(source, bytes) else source.stat().st_size


def _chunks(source: bytes | Path) -> Iterator[bytes]:
    if isinstance(source, bytes):
        yield source
        return
    with source.open("rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            yield chunk


def verify_instructions(data: bf.BundleInput) -> str:
    """The stock-tool procedure, in Chinese then English, with this bundle's values."""
    digest = digest_bytes(data.manifest_bytes).sha256
    lines = [
        "电子证据包核验说明 / How to verify this evidence bundle with stock tools",
        "=" * 72,
        f"证据编号 / Item: {data.item_id}",
        f"案件编号 / Case: {data.case_number}",
        f"清单摘要 / Manifest SHA-256: {digest}",
        "",
        "1. 解压并核对每个文件的 SHA-256 / Unzip and check every file's SHA-256:",
        "     unzip bundle.zip -d bundle && cd bundle",
        f"     sha256sum -c {bf.CHECKSUMS}",
        "   全部应显示 OK / every line must say OK.",
        "",
        "2. 核对 SM3（国密）摘要 / Check the SM3 digests:",
        '     for f in $(cut -c67- SM3SUMS); do openssl dgst -sm3 -r "$f"; done',
        f"   与 {bf.SM3_CHECKSUMS} 及 manifest.json 中的 sm3 值比对 / compare with "
        f"{bf.SM3_CHECKSUMS} and the sm3 values in manifest.json.",
        "",
        "3. 清单摘要即被时间戳和上链的值 /",
        "   The manifest digest is what was timestamped and anchored:",
        f"     sha256sum {bf.MANIFEST}        # = {digest}",
        "   manifest.json 中列出的每个 artifacts/ 文件的 sha256/sm3 必须与第 1、2 步一致。",
        "   Every artifacts/ file listed in manifest.json must match steps 1 and 2.",
        "",
    ]
    if data.timestamp is not None:
        lines += [
            "4. 核验 RFC 3161 时间戳 / Verify the RFC 3161 time-stamp token:",
            f"     openssl ts -verify -data {bf.MANIFEST} -in {bf.TOKEN} \\",
            f"       -CAfile {bf.TSA_ROOT} -untrusted {bf.TSA_CERT}",
            "   应输出 Verification: OK / must print: Verification: OK",
            f"     openssl ts -reply -in {bf.TOKEN} -text   # 签发时间 / genTime",
        ]
        if data.timestamp.development:
            lines += [
                "   注意：本时间戳来自开发用时间戳服务，其根证书由本工具自行生成，并非可信第三方。",
                "   WARNING: this token comes from the toolkit's DEVELOPMENT TSA whose root the",
                "   toolkit made itself; it is not a trusted third party.",
            ]
        lines.append("")
    else:
        lines += ["4. 尚无时间戳 / No time-stamp token yet.", ""]
    if data.anchor is not None:
        a = data.anchor
        lines += merkle_instructions(a)
        lines += [
            "5. 核验区块链锚定 / Verify the blockchain anchor "
            f"(chain id {a.chain_id}, {a.network_name}):",
            f'     cast call {a.contract_address} "anchoredAt(bytes32)(uint256)" {a.root} \\',
            f"       --rpc-url {a.rpc_url}",
            "   非零结果为上链区块时间（Unix 秒）/ a non-zero result is the anchoring block time.",
            "   或用 curl 查询交易回执 / or fetch the transaction receipt with curl:",
            f"     curl -s -X POST -H 'Content-Type: application/json' {a.rpc_url} \\",
            '       --data \'{"jsonrpc":"2.0","id":1,"method":"eth_getTransactionReceipt",'
            f'"params":["{a.transaction_hash}"]}}\'',
            f"   回执 status 应为 0x1，to 为 {a.contract_address}，",
            f"   logs[0].topics[1] 应为 {a.root}。",
            f"   The receipt's status must be 0x1, its to {a.contract_address}, "
            f"and logs[0].topics[1] {a.root}.",
            f"   区块 / block {a.block_number} {a.block_hash}",
        ]
        if a.development:
            lines += [
                "   注意：这是本机开发链（anvil），仅本机见证，不具备公共区块链的证明力。",
                "   WARNING: a local development chain (anvil);",
                "   nobody but this machine witnessed it.",
            ]
        lines.append("")
    else:
        lines += ["5. 尚未上链 / Not anchored yet.", ""]
    lines += [
        "6. 也可使用本工具核验 / Or run this toolkit's verifier:",
        "     evidence verify bundle.zip",
        "",
        "报告 report/report.pdf 由采集数据直接生成；它证明采集浏览器在所述时间收到了什么，",
        "不证明服务器运营者的身份（TLS 证书所示之外）。",
        "The report is generated directly from the captured data. It shows what the capturing",
        "browser received and when, not who operates the server beyond its TLS certificate.",
        "",
    ]
    return "\n".join(lines)


def merkle_instructions(anchor: AnchorReceipt) -> list[str]:
    """Step 4b: recompute the anchored Merkle root from the manifest digest by hand."""
    proof = InclusionProof(
        anchor.leaf_index, anchor.tree_size, tuple(bytes.fromhex(h) for h in anchor.proof)
    )
    first, steps = proof_steps(bytes.fromhex(anchor.leaf), proof)
    lines = [
        "4b. 由清单摘要重算默克尔根（RFC 9162）/ Recompute the Merkle root (RFC 9162):",
        f"   本证据是第 {anchor.leaf_index} 号叶子（共 {anchor.tree_size} 个）/ "
        f"leaf {anchor.leaf_index} of {anchor.tree_size}.",
        "   叶子哈希 = SHA-256(0x00 || 清单摘要) / leaf hash = SHA-256(0x00 || manifest digest):",
        f"     printf '{printf_bytes(0, bytes.fromhex(anchor.leaf))}' | sha256sum",
        f"     # = {first.hex()}",
    ]
    current = first
    for number, step in enumerate(steps, start=1):
        left, right = (step.sibling, current) if step.sibling_on_left else (current, step.sibling)
        side = "左 / left" if step.sibling_on_left else "右 / right"
        lines += [
            f"   第 {number} 步，兄弟节点在{side}：SHA-256(0x01 || 左 || 右) / "
            f"step {number}: SHA-256(0x01 || left || right):",
            f"     printf '{printf_bytes(1, left, right)}' | sha256sum",
            f"     # = {step.result.hex()}",
        ]
        current = step.result
    lines += [f"   最后结果即锚定的根 / the last result is the anchored root: {anchor.root}", ""]
    return lines


def item_readme(data: bf.BundleInput) -> str:
    """The recipient's guide to one item bundle, Chinese then English."""
    digest = digest_bytes(data.manifest_bytes).sha256
    dev = (data.timestamp is not None and data.timestamp.development) or (
        data.anchor is not None and data.anchor.development
    )
    lines = [
        "电子证据包说明 / About this evidence bundle",
        "=" * 72,
        f"证据编号 / Item: {data.item_id}",
        f"案件编号 / Case: {data.case_number}",
        f"生成时间 / Created: {isoformat(data.created_at)}",
        f"清单摘要 / Manifest SHA-256: {digest}",
        f"生成工具 / Tool: evidence-toolkit {data.tool_version}",
        "",
        "本证据包自成一体：核验所需的全部文件均在包内，路径均为相对路径，可离线核验",
        "（区块链查询除外）。逐步核验方法见 VERIFY.txt。",
        "This bundle is self-contained: every file needed to verify it is inside, with",
        "relative paths only, and it can be checked offline (except the chain lookup).",
        "VERIFY.txt gives the step-by-step procedure with stock tools.",
        "",
        "目录 / Contents",
        "-" * 72,
        f"  {bf.MANIFEST:<28} 封存清单：列出每个文件及其 SHA-256、SM3 / the sealed manifest",
        f"  {'artifacts/':<28} 采集所得原始文件（截图、WARC、DOM 等）/ the captured files",
    ]
    if data.timestamp is not None:
        lines.append(
            f"  {'timestamp/':<28} RFC 3161 时间戳及时间戳服务证书 / time-stamp token, TSA certs"
        )
    if data.anchor is not None:
        lines.append(
            f"  {bf.ANCHOR_JSON:<28} 区块链存证记录与默克尔证明 / anchor record, Merkle proof"
        )
    if data.custody_jsonl is not None:
        lines.append(f"  {bf.CUSTODY_LOG:<28} 保管链记录（JSON Lines）/ custody-log extract")
    if data.signatures:
        lines.append(
            f"  {bf.SIGNATURES_DIR + '/':<28} 执法人员对清单的 CMS 签名及证书 / officers' "
            "manifest signatures"
        )
    lines += [
        f"  {bf.REPORT:<28} 证据报告（PDF/A-2b，可含执法人员电子签名）/ the evidence report",
        f"  {bf.INSTRUCTIONS:<28} 核验步骤（含本包实际数值）/ verification steps with values",
        f"  {bf.INDEX:<28} 包格式与索引 / format and index",
        f"  {bf.CHECKSUMS + ', ' + bf.SM3_CHECKSUMS:<28} 全部文件的摘要 / digests of every file",
        "",
        "快速核验 / Quick check:",
        f"  sha256sum -c {bf.CHECKSUMS}",
        f"  sha256sum {bf.MANIFEST}      # = {digest}",
        "  evidence verify <本包.zip / this bundle.zip>",
        "",
    ]
    if data.timestamp is None or data.anchor is None:
        lines += [
            "注意：本证据尚未完成时间戳和/或区块链存证（待补），相应文件缺失。",
            "NOTE: this item is not yet timestamped and/or anchored (pending); those files",
            "are absent.",
            "",
        ]
    if dev:
        lines += [
            "注意：时间戳或区块链存证来自本工具的开发环境（自建时间戳服务、本机测试链），",
            "不具备可信第三方的证明力。",
            "NOTE: the time-stamp or anchor comes from the toolkit's development setup (its own",
            "TSA, a local test chain); no trusted third party witnessed it.",
            "",
        ]
    lines += [
        "证据包布局说明见工具文档 docs/bundle.md（格式 " + bf.BUNDLE_FORMAT + "）。",
        "The layout is documented in the toolkit's docs/bundle.md (format "
        + bf.BUNDLE_FORMAT
        + ").",
        "",
    ]
    return "\n".join(lines)


def case_readme(data: CaseBundleInput) -> str:
    """The recipient's guide to a case bundle, Chinese then English."""
    lines = [
        "案件证据包说明 / About this case bundle",
        "=" * 72,
        f"案件编号 / Case: {data.case_number}",
        f"案件名称 / Title: {data.case_title}",
        f"生成时间 / Created: {isoformat(data.created_at)}",
        f"证据项数 / Items: {len(data.items)}",
        "",
        f"每个证据项位于 {bf.CASE_ITEMS_DIR}/<证据编号>/ 目录，其内容与单项证据包完全相同，",
        "可在该目录内独立核验（见其中的 README.txt 与 VERIFY.txt）。",
        f"Each item sits in {bf.CASE_ITEMS_DIR}/<item-id>/, laid out exactly like a single-item",
        "bundle, and can be verified on its own inside that folder (see its README.txt and",
        "VERIFY.txt).",
        "",
        f"  {bf.CASE_INDEX:<22} 案件索引：各证据项路径及清单摘要 / case index",
        f"  {bf.CHECKSUMS:<22} 本包全部文件的 SHA-256 / SHA-256 of every file in the zip",
        f"  {bf.SM3_CHECKSUMS:<22} 同上，SM3 / the same with SM3",
        "",
        "快速核验 / Quick check:",
        f"  sha256sum -c {bf.CHECKSUMS}",
        f"  cd {bf.CASE_ITEMS_DIR}/<item-id> && sha256sum -c {bf.CHECKSUMS}",
        "",
        "证据项 / Items:",
    ]
    for item in data.items:
        lines.append(
            f"  {bf.CASE_ITEMS_DIR}/{item.item_id}/  manifest "
            f"{digest_bytes(item.manifest_bytes).sha256}"
        )
    lines.append("")
    return "\n".join(lines)
