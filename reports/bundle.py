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
from pathlib import Path

from evidence import bundle_format as bf
from evidence.errors import ReportError
from evidence.hashing import CHUNK_SIZE, DualHasher, digest_bytes
from evidence.manifest import canonical_json
from evidence.merkle import InclusionProof, printf_bytes, proof_steps
from evidence.records import AnchorReceipt, isoformat


def write_bundle(data: bf.BundleInput, out_path: Path) -> Path:
    """Write the bundle zip atomically to ``out_path`` and return it."""
    members: list[tuple[str, bytes | Path]] = [(bf.MANIFEST, data.manifest_bytes)]
    members.extend((name, source) for name, source in data.artifacts)
    if data.timestamp is not None:
        members.append((bf.TOKEN, data.timestamp.response_der))
        members.append((bf.TSA_CERT, data.timestamp.tsa_certificate_pem))
        members.append((bf.TSA_ROOT, data.timestamp.trust_root_pem))
        members.append((bf.TIMESTAMP_JSON, bf.timestamp_to_json(data.timestamp)))
    if data.anchor is not None:
        members.append((bf.ANCHOR_JSON, bf.anchor_to_json(data.anchor)))
    members.append((bf.REPORT, data.report_pdf))
    members.append((bf.INSTRUCTIONS, verify_instructions(data).encode("utf-8")))
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
                }
            ),
        )
    )
    names = [name for name, _ in members]
    if len(set(names)) != len(names):
        raise ReportError("bundle would contain duplicate member names")

    sha256_lines: list[str] = []
    sm3_lines: list[str] = []
    date_time = data.created_at.utctimetuple()[:6]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out_path.parent, prefix=".bundle-", suffix=".zip")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, source in sorted(members, key=lambda m: m[0]):
                info = zipfile.ZipInfo(name, date_time=date_time)
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                hasher = DualHasher()
                with zf.open(info, "w", force_zip64=_size(source) > 2**31) as out:
                    for chunk in _chunks(source):
                        hasher.update(chunk)
                        out.write(chunk)
                digests = hasher.finalize()
                sha256_lines.append(f"{digests.sha256}  {name}\n")
                sm3_lines.append(f"{digests.sm3}  {name}\n")
            for name, lines in ((bf.CHECKSUMS, sha256_lines), (bf.SM3_CHECKSUMS, sm3_lines)):
                info = zipfile.ZipInfo(name, date_time=date_time)
                info.external_attr = 0o644 << 16
                zf.writestr(info, "".join(lines).encode("ascii"))
        with tmp.open("rb") as stream:
            os.fsync(stream.fileno())
        os.replace(tmp, out_path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"cannot write the bundle {out_path}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out_path


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
