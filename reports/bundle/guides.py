"""The recipient's texts inside a bundle: ``README.txt`` and ``VERIFY.txt``, Chinese then English.

Every command in them is filled in with the bundle's own values, so an
expert can run them with stock tools (``sha256sum``, ``openssl``, ``cast``,
``curl``) and compare the output with what is printed. ``VERIFY.txt`` ends
with the whole procedure as one POSIX ``sh`` script (``verify.sh`` beside
this module, also ``docs/verify-by-hand.sh``): it makes every check
``evidence verify`` makes that stock tools can make, under the same check
ids, and gives the same results under dash as under bash.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from importlib import resources

from evidence.model.merkle import InclusionProof, proof_steps
from evidence.model.records import AnchorReceipt, TimestampToken, isoformat
from reports.bundle import layout as bf

__all__ = [
    "case_readme",
    "custody_instructions",
    "index_steps",
    "item_readme",
    "merkle_instructions",
    "procedure_script",
    "verify_instructions",
]

_RULE = "=" * 72
SCRIPT_FIRST_LINE = "#!/bin/sh"
SCRIPT_LAST_LINE = "# END OF VERIFY SCRIPT"
EXTRACT_SCRIPT = f"sed -n '/^#!\\/bin\\/sh$/,/^{SCRIPT_LAST_LINE}$/p' {bf.INSTRUCTIONS}"
"""The command that copies the script out of ``VERIFY.txt``, literally, to stdout."""


def procedure_script() -> str:
    """The POSIX ``sh`` procedure, from its first line to :data:`SCRIPT_LAST_LINE`."""
    return resources.files("reports.bundle").joinpath("verify.sh").read_text(encoding="utf-8")


def verify_instructions(data: bf.BundleInput, manifest_sha256: str) -> str:
    """The stock-tool procedure, in Chinese then English, with this bundle's values."""
    lines = [
        "电子证据包核验说明 / How to verify this evidence bundle with stock tools",
        _RULE,
        f"证据编号 / Item: {data.item_id}",
        f"案件编号 / Case: {data.case_number}",
        f"清单摘要 / Manifest SHA-256: {manifest_sha256}",
        "",
    ]
    lines += _trust_decisions()
    lines += _digest_steps(manifest_sha256)
    lines += index_steps()
    lines += _signer_steps(data)
    lines += _timestamp_steps(data.timestamp)
    lines += _anchor_steps(data.anchor, data.custody_anchor)
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
    lines += _script_steps()
    return "\n".join(lines) + procedure_script()


def _script_steps() -> list[str]:
    """Step 7: how to run the script that closes this file, without writing into the bundle."""
    return [
        "7. 一次完成全部核验：本文件末尾的 POSIX sh 脚本 /",
        "   Every check at once: the POSIX sh script that ends this file.",
        "   它执行 evidence verify 的各项检查（每行一个检查编号与结果 OK / FAIL / UNTRUSTED /",
        "   NOT CHECKED，编号与 evidence verify --json 相同），在 dash 与 bash 下结果相同，",
        "   不向本包写入任何文件（临时文件写入 mktemp -d 目录）。",
        "   It makes the checks of evidence verify, one line per finding with the same check",
        "   ids as evidence verify --json (OK / FAIL / UNTRUSTED / NOT CHECKED), gives the same",
        "   results under dash and bash, and writes nothing into the bundle (scratch files go",
        "   to a mktemp -d folder).",
        "   在解压后的本包目录中，原样取出脚本并运行（变量为您自己的信任决定，见第 0 步）/",
        "   In the unpacked bundle, copy the script out literally and run it (the variables",
        "   are your own trust decisions, step 0):",
        "     T=$(mktemp -d) && " + EXTRACT_SCRIPT + ' > "$T/verify.sh"',
        "     TSA_ROOTS=/path/tsa-roots.pem SIGNER_ROOTS=/path/agency-ca.pem \\",
        "       RPC_URL=http://your-node:8545 REGISTRY=0x... CHAIN_ID=N \\",
        '       sh "$T/verify.sh" .',
        "   退出码 0 全部通过，1 有失败，2 无失败但有未核验或不可信项 /",
        "   exit 0: all OK; 1: something failed; 2: nothing failed, but something is",
        "   UNTRUSTED or NOT CHECKED.",
        "",
        "-" * 72,
        "",
    ]


def _trust_decisions() -> list[str]:
    """What only the expert can decide: which roots, chain and accounts to trust."""
    return [
        "0. 信任决定（由核验人自行作出）/ Trust decisions (yours to make):",
        "   本包自带的根证书、证书、RPC 地址、合约地址与“开发”标记均是本包的自述，",
        "   不能作为信任依据。请事先取得并以其他渠道核对以下内容：",
        '   The roots, certificates, RPC URL, contract address and "development" flag',
        "   this bundle carries are its own word, not trust. Obtain, and check through a",
        "   second channel, before you start:",
        "   - TSA_ROOTS：您信任的时间戳服务根证书 / the TSA roots you trust",
        "     (compare its fingerprint: openssl x509 -in ROOT.pem -noout -fingerprint -sha256);",
        "   - SIGNER_ROOTS：执法机构 CA 或执法人员证书 / the agency CA or officers' certificates;",
        "   - 区块链：链 ID、登记合约地址、可信的 RPC 节点、可上链的账户 /",
        "     the chain: its chain id, the registry contract, an RPC endpoint you trust,",
        "     and the accounts allowed to anchor.",
        "   仅依据本包自述材料成立的结论为“不可信”（UNTRUSTED），不是“通过”。",
        "   A finding that holds only against the bundle's own material is UNTRUSTED, not a pass.",
        "   使用本工具时用 evidence trust 登记上述信任 / With this toolkit, record them",
        "   with `evidence trust add tsa|signer|chain` (see docs/trust.md).",
        "",
    ]


def _digest_steps(manifest_sha256: str) -> list[str]:
    return [
        "1. 解压并核对每个文件的 SHA-256 / Unzip and check every file's SHA-256:",
        "     unzip bundle.zip -d bundle && cd bundle",
        f"     sha256sum -c {bf.CHECKSUMS}",
        "   全部应显示 OK / every line must say OK.",
        f"   （{bf.SIGNED_INDEX} 及其签名、时间戳不在其中，见第 2b 步 /",
        "   the signed index, its signature and token are not listed there: see step 2b.)",
        "",
        "2. 核对 SM3（国密）摘要 / Check the SM3 digests:",
        '     for f in $(cut -c67- SM3SUMS); do openssl dgst -sm3 -r "$f"; done',
        f"   与 {bf.SM3_CHECKSUMS} 及 manifest.json 中的 sm3 值比对 / compare with "
        f"{bf.SM3_CHECKSUMS} and the sm3 values in manifest.json.",
        "",
        "3. 清单摘要即被时间戳和上链的值 /",
        "   The manifest digest is what was timestamped and anchored:",
        f"     sha256sum {bf.MANIFEST}        # = {manifest_sha256}",
        "   manifest.json 中列出的每个 artifacts/ 文件的 sha256/sm3 必须与第 1、2 步一致。",
        "   Every artifacts/ file listed in manifest.json must match steps 1 and 2.",
        "",
    ]


def index_steps() -> list[str]:
    """Step 2b: the exporting officer's signed index binds every other file.

    Each block of command lines (five spaces in) runs as it stands under
    ``/bin/sh`` in the unpacked bundle once ``SIGNER_ROOTS`` and ``TSA_ROOTS``
    name the expert's own root files; the tests run them so.
    """
    index, p7s, tsr = bf.SIGNED_INDEX, bf.SIGNED_INDEX_SIGNATURE, bf.SIGNED_INDEX_TOKEN
    hex64, groups = "[0-9a-f]{64}", r"\1 \2 \3"
    fields = f"{hex64}  {hex64}  [0-9]+  "
    return [
        "2b. 核验导出人员签名的证据包索引 / Check the exporting officer's signed bundle index:",
        f"   {index} 列出本包其余每个文件的 SHA-256、SM3、大小与路径，",
        f"   由导出人员签名（{p7s}）；该签名另有时间戳",
        f"   （{tsr}；导出时时间戳服务无应答则缺失）。",
        f"   {index} lists every other file with its SHA-256, SM3, size and",
        f"   path. The exporting officer signed it ({p7s}), and a TSA",
        f"   time-stamped that signature ({tsr}; absent when no TSA answered).",
        "   先指定您自己信任的根证书文件，勿用包内文件作信任依据 /",
        "   First name the root files YOU trust (never the bundle's own):",
        "     SIGNER_ROOTS=/path/to/officer-or-agency-ca.pem",
        "     TSA_ROOTS=/path/to/tsa-roots.pem",
        "   签名（应输出 Verification successful）/",
        "   the signature (must say Verification successful):",
        f"     openssl cms -verify -binary -inform DER -in {p7s} \\",
        f'       -content {index} -CAfile "$SIGNER_ROOTS" -purpose any -out /dev/null',
        "   时间戳，其对象为签名文件（应输出 Verification: OK）/",
        "   its time-stamp, over the signature file (must print Verification: OK):",
        f"     openssl ts -verify -data {p7s} -in {tsr} \\",
        '       -CAfile "$TSA_ROOTS"',
        f"     openssl ts -reply -in {tsr} -text   # 签发时间 / genTime",
        "   每个文件的 SHA-256（每行应显示 OK）/ every file's SHA-256 (every line must say OK):",
        f"     {bf.INDEX_TO_SHA256SUM} {index} | sha256sum -c",
        "   每个文件的 SM3 与大小（每行应显示 OK）/ every file's SM3 and size (every line: OK):",
        f"     sed -nE 's/^{hex64}  ({hex64})  ([0-9]+)  (.*)$/{groups}/p' {index} |",
        "       while read -r d n f; do",
        '         if [ "$(openssl dgst -sm3 -r "$f" | cut -c1-64)" = "$d" ] &&',
        '           [ "$(wc -c < "$f")" -eq "$n" ]; then echo "$f: OK"; else echo "$f: FAILED"; fi',
        "       done",
        "   索引之外没有其他文件（应无输出）/ no file outside the index (must print nothing):",
        f"     {{ sed -nE 's/^{fields}//p' {index}",
        f"       find . -type f ! -path ./{index} ! -path ./{p7s} \\",
        f"         ! -path ./{tsr} | cut -c3-",
        "     } | LC_ALL=C sort | uniq -u",
        "",
    ]


def _signer_steps(data: bf.BundleInput) -> list[str]:
    """Step 2c: who signed, compared with the agency's published list of officers."""
    stem = data.signatures[0][0] if data.signatures else f"{bf.SIGNATURES_DIR}/1-ID"
    sig, pem = bf.signature_members(stem)
    return [
        f"2c. 核对签名人 / Check who signed: {bf.SIGNERS}",
        f"   {bf.SIGNERS} 列出本包每个签名（清单签名、报告签名、索引签名）的角色、姓名、执法证号、",
        "   签名时间，以及证书 SHA-256 指纹和颁发者（openssl 的输出格式）。请与执法机构公布的",
        "   人员证书名单逐字比对，并从签名本身打印同样两项加以核对（不写入本包）：",
        f"   {bf.SIGNERS} lists every signature in this bundle (manifest, report, index) with",
        "   role, name, enforcement ID, signing time, and the certificate's SHA-256 fingerprint",
        "   and issuer as openssl prints them. Compare them character by character with the",
        "   agency's published list, and print the same two values from the signature itself",
        "   (nothing is written into the bundle):",
        "     T=$(mktemp -d)",
        f"     openssl cms -verify -noverify -binary -inform DER -in {sig} \\",
        f'       -content {bf.MANIFEST} -signer "$T/signer.pem" -out /dev/null',
        '     openssl x509 -in "$T/signer.pem" -noout -fingerprint -sha256',
        '     openssl x509 -in "$T/signer.pem" -noout -issuer -nameopt oneline,-esc_msb',
        f"   （{pem} 是同一证书的副本 / is a copy of the same certificate:",
        f"     openssl x509 -in {pem} -noout -fingerprint -sha256）",
        f"   索引签名同理：-in {bf.SIGNED_INDEX_SIGNATURE} -content {bf.SIGNED_INDEX}。",
        f"   The index signature likewise: -in {bf.SIGNED_INDEX_SIGNATURE} -content "
        f"{bf.SIGNED_INDEX}.",
        "   第 7 步的脚本在每个签名结果下打印其证书的 subject、issuer 和指纹，应与",
        f"   {bf.SIGNERS} 一致 / the script of step 7 prints each signature's subject, issuer",
        f"   and fingerprint under its result: they must match {bf.SIGNERS}.",
        "",
    ]


def _timestamp_steps(token: TimestampToken | None) -> list[str]:
    if token is None:
        return ["4. 尚无时间戳 / No time-stamp token yet.", ""]
    lines = [
        "4. 核验 RFC 3161 时间戳 / Verify the RFC 3161 time-stamp token:",
        f"     openssl ts -verify -data {bf.MANIFEST} -in {bf.TOKEN} \\",
        f"       -CAfile {bf.TSA_ROOT} -untrusted {bf.TSA_CERT}",
        "   应输出 Verification: OK / must print: Verification: OK",
        "   上式只证明与包内自带根证书一致；信任结论须用您自己的根证书 /",
        "   that only shows consistency with the bundle's own root; the trust decision",
        "   needs yours:",
        f'     openssl ts -verify -data {bf.MANIFEST} -in {bf.TOKEN} -CAfile "$TSA_ROOTS" \\',
        f"       -untrusted {bf.TSA_CERT}",
        f"     openssl ts -reply -in {bf.TOKEN} -text   # 签发时间 / genTime",
    ]
    if token.development:
        lines += [
            "   注意：本时间戳来自开发用时间戳服务，其根证书由本工具自行生成，并非可信第三方。",
            "   WARNING: this token comes from the toolkit's DEVELOPMENT TSA whose root the",
            "   toolkit made itself; it is not a trusted third party.",
        ]
    lines.append("")
    return lines


def _anchor_steps(a: AnchorReceipt | None, custody: bf.CustodyAnchor | None) -> list[str]:
    if a is None:
        return ["5. 尚未上链 / Not anchored yet.", ""]
    lines = merkle_instructions(a)
    if custody is not None:
        lines += custody_instructions(a, custody)
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
        "   以上 RPC 地址与合约地址是本包自述：请改用您信任的节点（$RPC_URL）查询，",
        "   核对 to 是您信任的登记合约，logs[0].topics[2]（上链账户）是您信任的账户。",
        "   The RPC URL and contract above are the bundle's word: ask an endpoint you",
        "   trust ($RPC_URL) instead, check that to is the registry you trust and that",
        "   logs[0].topics[2] (the anchoring account) is an account you trust.",
    ]
    if a.development:
        lines += [
            "   注意：这是本机开发链（anvil），仅本机见证，不具备公共区块链的证明力。",
            "   WARNING: a local development chain (anvil);",
            "   nobody but this machine witnessed it.",
        ]
    lines.append("")
    return lines


def merkle_instructions(anchor: AnchorReceipt) -> list[str]:
    """Step 4b: recompute the anchored Merkle root from the manifest digest by hand."""
    proof = InclusionProof(
        anchor.leaf_index, anchor.tree_size, tuple(bytes.fromhex(h) for h in anchor.proof)
    )
    return [
        "4b. 由清单摘要重算默克尔根（RFC 9162）/ Recompute the Merkle root (RFC 9162):",
        f"   本证据是第 {anchor.leaf_index} 号叶子（共 {anchor.tree_size} 个）/ "
        f"leaf {anchor.leaf_index} of {anchor.tree_size}.",
        "   叶子哈希 = SHA-256(0x00 || 清单摘要) / leaf hash = SHA-256(0x00 || manifest digest):",
        *_path_lines(bytes.fromhex(anchor.leaf), proof, anchor.root),
    ]


def custody_instructions(anchor: AnchorReceipt, custody: bf.CustodyAnchor) -> list[str]:
    """Step 4c: the custody log's head at batching time is the last leaf of the same tree."""
    proof = InclusionProof(
        custody.leaf_index, anchor.tree_size, tuple(bytes.fromhex(h) for h in custody.proof)
    )
    return [
        "4c. 保管链记录的链头也在同一棵树中（最后一个叶子）/",
        "    The custody log's head is the last leaf of the same tree:",
        f"   批次生成时最新的保管事件为第 {custody.seq} 号 / when the batch was made, the newest "
        f"custody event was seq {custody.seq}:",
        f"     grep '\"seq\":{custody.seq}}}$' {bf.CUSTODY_LOG}",
        f"     # 其 event_hash 应为 / its event_hash must be {custody.event_hash}",
        "   该事件及经未隐去事件链接到它的此前事件随根上链；其后的事件尚未上链。/ That event, and",
        "   the earlier ones linked to it through events that are not redacted, are fixed by the",
        "   anchored root; later events are not anchored yet.",
        f"   叶子哈希 = SHA-256(0x00 || event_hash)，第 {custody.leaf_index} 号叶子 / "
        f"leaf {custody.leaf_index} hash = SHA-256(0x00 || event_hash):",
        *_path_lines(bytes.fromhex(custody.event_hash), proof, anchor.root),
    ]


def _path_lines(leaf: bytes, proof: InclusionProof, root: str) -> list[str]:
    """The ``printf … | sha256sum`` lines from a leaf up to the root, with each result."""
    first, steps = proof_steps(leaf, proof)
    lines = [f"     printf '{_octal(0, leaf)}' | sha256sum", f"     # = {first.hex()}"]
    current = first
    for number, step in enumerate(steps, start=1):
        left, right = (step.sibling, current) if step.sibling_on_left else (current, step.sibling)
        side = "左 / left" if step.sibling_on_left else "右 / right"
        lines += [
            f"   第 {number} 步，兄弟节点在{side}：SHA-256(0x01 || 左 || 右) / "
            f"step {number}: SHA-256(0x01 || left || right):",
            f"     printf '{_octal(1, left, right)}' | sha256sum",
            f"     # = {step.result.hex()}",
        ]
        current = step.result
    lines += [f"   最后结果即锚定的根 / the last result is the anchored root: {root}", ""]
    return lines


def _octal(prefix: int, *parts: bytes) -> str:
    """A ``printf`` format writing ``prefix`` then ``parts`` as raw bytes, in octal escapes:
    POSIX printf (dash's among them) has no ``\\x`` escapes."""
    data = bytes([prefix]) + b"".join(parts)
    return "".join(f"\\{b:03o}" for b in data)


def item_readme(data: bf.BundleInput, manifest_sha256: str) -> str:
    """The recipient's guide to one item bundle, Chinese then English."""
    lines = [
        "电子证据包说明 / About this evidence bundle",
        _RULE,
        f"证据编号 / Item: {data.item_id}",
        f"案件编号 / Case: {data.case_number}",
        f"生成时间 / Created: {isoformat(data.created_at)}",
        f"清单摘要 / Manifest SHA-256: {manifest_sha256}",
        f"生成工具 / Tool: evidence-toolkit {data.tool_version}",
        "",
        "本证据包自成一体：核验所需的全部文件均在包内，路径均为相对路径，可离线核验",
        "（区块链查询除外）。逐步核验方法见 VERIFY.txt。",
        "This bundle is self-contained: every file needed to verify it is inside, with",
        "relative paths only, and it can be checked offline (except the chain lookup).",
        "VERIFY.txt gives the step-by-step procedure with stock tools.",
        "",
    ]
    lines += _contents(data)
    lines += [
        "快速核验 / Quick check:",
        f"  sha256sum -c {bf.CHECKSUMS}",
        f"  sha256sum {bf.MANIFEST}      # = {manifest_sha256}",
        f"  {bf.INDEX_TO_SHA256SUM} {bf.SIGNED_INDEX} | sha256sum -c",
        "  (其签名与时间戳见 VERIFY.txt 第 2b 步 / its signature and time-stamp: VERIFY.txt, 2b)",
        "  evidence verify <本包.zip / this bundle.zip>",
        "",
    ]
    lines += _readme_notes(data)
    lines += [
        "证据包布局说明见工具文档 docs/bundle.md（格式 " + bf.BUNDLE_FORMAT + "）。",
        "The layout is documented in the toolkit's docs/bundle.md (format "
        + bf.BUNDLE_FORMAT
        + ").",
        "",
    ]
    return "\n".join(lines)


def _contents(data: bf.BundleInput) -> list[str]:
    """The table of contents: one line per folder or file the bundle holds."""
    lines = [
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
    lines.append(
        f"  {'signed/':<28} 导出人员签名的全包文件索引及其时间戳 / the exporting officer's "
        "signed index of every file, and its time-stamp"
    )
    lines += [
        f"  {bf.REPORT:<28} 证据报告（PDF/A-2b，可含执法人员电子签名）/ the evidence report",
        f"  {bf.SIGNERS:<28} 每个签名的签名人及证书指纹、颁发者 / every signer, with",
        f"  {'':<28} certificate fingerprint and issuer as openssl prints them",
        f"  {bf.INSTRUCTIONS:<28} 核验步骤（含本包实际数值）/ verification steps with values",
        f"  {bf.INDEX:<28} 包格式与索引 / format and index",
        f"  {bf.CHECKSUMS + ', ' + bf.SM3_CHECKSUMS:<28} 全部文件的摘要 / digests of every file",
        "",
    ]
    return lines


def _readme_notes(data: bf.BundleInput) -> list[str]:
    """What the recipient must know before relying on the bundle: pending or development."""
    lines: list[str] = []
    if data.timestamp is None or data.anchor is None:
        lines += [
            "注意：本证据尚未完成时间戳和/或区块链存证（待补），相应文件缺失。",
            "NOTE: this item is not yet timestamped and/or anchored (pending); those files",
            "are absent.",
            "",
        ]
    development = (data.timestamp is not None and data.timestamp.development) or (
        data.anchor is not None and data.anchor.development
    )
    if development:
        lines += [
            "注意：时间戳或区块链存证来自本工具的开发环境（自建时间戳服务、本机测试链），",
            "不具备可信第三方的证明力。",
            "NOTE: the time-stamp or anchor comes from the toolkit's development setup (its own",
            "TSA, a local test chain); no trusted third party witnessed it.",
            "",
        ]
    return lines


def case_readme(
    case_number: str,
    case_title: str,
    created_at: datetime,
    items: Sequence[tuple[str, str]],
) -> str:
    """The recipient's guide to a case bundle, Chinese then English.

    ``items`` are (item id, manifest SHA-256) in the order the case lists them.
    """
    lines = [
        "案件证据包说明 / About this case bundle",
        _RULE,
        f"案件编号 / Case: {case_number}",
        f"案件名称 / Title: {case_title}",
        f"生成时间 / Created: {isoformat(created_at)}",
        f"证据项数 / Items: {len(items)}",
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
    for item_id, manifest_sha256 in items:
        lines.append(f"  {bf.CASE_ITEMS_DIR}/{item_id}/  manifest {manifest_sha256}")
    lines.append("")
    return "\n".join(lines)
