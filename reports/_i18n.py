"""Every string the PDF report prints, in Simplified Chinese and English.

One table keeps both languages side by side so a translator (or a reviewer
checking that the English report says the same thing) reads them together.
"""

from __future__ import annotations

from evidence.model.errors import ReportError

LANGUAGES = ("zh", "en")

# key -> (zh, en); ``{name}`` placeholders are filled with str.format.
_TEXT: dict[str, tuple[str, str]] = {
    "title": ("网页电子证据固定报告", "Web Evidence Preservation Report"),
    "report_number": ("报告编号", "Report number"),
    "generated_at": ("生成时间", "Generated"),
    "case_number": ("案件编号", "Case number"),
    "case_title": ("案件名称", "Case title"),
    "case_cause": ("案由", "Cause of action"),
    "agency": ("执法机关", "Agency"),
    "officers": ("取证人员", "Officers"),
    "item_id": ("证据项编号", "Evidence item ID"),
    "tool_version": ("取证工具及版本", "Tool and version"),
    "notes": ("备注", "Notes"),
    "list_sep": ("、", ", "),
    "none": ("无", "None"),
    "unknown": ("未知", "Unknown"),
    "time_beijing": ("{t}（北京时间，UTC+8）", "{t} (Beijing time, UTC+8)"),
    "time_utc": ("{t}（UTC）", "{t} (UTC)"),
    "clipped": (
        "……（以下省略，全文共 {n} 个字符，见证据包）",
        "… (cut here: {n} characters in all, see the bundle)",
    ),
    "more_items": ("……另有 {n} 项，见证据包", "… and {n} more, see the bundle"),
    "no_redirects": ("无（未发生重定向）", "None (no redirects)"),
    # capture
    "sec_capture": ("采集概况", "Capture summary"),
    "requested_url": ("输入网址", "URL entered"),
    "final_url": ("最终网址", "Final URL"),
    "redirect_chain": ("重定向过程", "Redirect chain"),
    "capture_start": ("采集开始时间", "Capture start"),
    "capture_end": ("采集结束时间", "Capture end"),
    "page_title": ("网页标题", "Page title"),
    "http_status": ("HTTP 状态码", "HTTP status"),
    "server_ip": ("服务器 IP", "Server IP"),
    "browser_version": ("浏览器版本", "Browser version"),
    "user_agent": ("用户代理（UA）", "User agent"),
    "viewport": ("视口尺寸", "Viewport"),
    "viewport_value": ("{w} × {h} 像素", "{w} × {h} px"),
    "warnings": ("采集告警", "Warnings"),
    # screenshot
    "sec_screenshot": ("网页整页截图", "Full-page screenshot"),
    "screenshot_note": (
        "下图为采集所得整页截图（原图 {w} × {h} 像素）按版心宽度缩放后的打印件，"
        "共分 {n} 部分依次排列；原始 PNG 文件及其哈希值见电子数据清单。",
        "The full-page screenshot ({w} × {h} px) scaled to the page width and laid out "
        "in {n} consecutive parts; the original PNG file and its hashes are in the "
        "exhibit list.",
    ),
    "screenshot_part": (
        "截图 第 {i}/{n} 部分（原图第 {y0}–{y1} 像素行）",
        "Screenshot part {i}/{n} (source pixel rows {y0}–{y1})",
    ),
    # exhibits
    "sec_exhibits": ("电子数据清单", "Exhibit list"),
    "col_no": ("序号", "No."),
    "col_path": ("文件", "File"),
    "col_role": ("类别", "Role"),
    "col_type": ("格式", "Media type"),
    "col_size": ("大小（字节）", "Size (bytes)"),
    "exhibits_empty": ("（清单为空）", "(no exhibits)"),
    "manifest_sha256": ("清单文件 SHA-256", "Manifest SHA-256"),
    "manifest_sm3": ("清单文件 SM3", "Manifest SM3"),
    "manifest_note": (
        "清单文件 manifest.json 记录上列全部文件及其哈希值；"
        "时间戳与区块链存证均针对该文件的哈希值。",
        "manifest.json lists every file above with its hashes; the time-stamp and the "
        "blockchain anchor both cover this file's hash.",
    ),
    # timestamp
    "sec_timestamp": ("可信时间戳", "Trusted time-stamp"),
    "tsa_url": ("时间戳服务地址", "TSA URL"),
    "tsa_subject": ("时间戳服务机构", "TSA subject"),
    "serial": ("序列号", "Serial number"),
    "gen_time": ("时间戳时间（genTime）", "Time (genTime)"),
    "policy": ("策略 OID", "Policy OID"),
    "hash_algorithm": ("摘要算法", "Hash algorithm"),
    "message_imprint": ("消息摘要（imprint）", "Message imprint"),
    "nonce": ("随机数（nonce）", "Nonce"),
    "ts_dev_warning": (
        "开发用时间戳服务（非可信第三方），仅供测试",
        "DEVELOPMENT time-stamp authority — not a trusted third party",
    ),
    "ts_missing": ("尚未取得时间戳（待补）", "No time-stamp obtained yet (pending)"),
    # anchor
    "sec_anchor": ("区块链存证", "Blockchain anchor"),
    "network": ("网络名称", "Network"),
    "chain_id": ("链 ID", "Chain ID"),
    "contract": ("存证合约地址", "Contract"),
    "tx_hash": ("交易哈希", "Transaction hash"),
    "block_number": ("区块高度", "Block number"),
    "block_hash": ("区块哈希", "Block hash"),
    "block_time": ("出块时间", "Block time"),
    "root": ("上链哈希值", "Anchored value"),
    "submitter": ("提交地址", "Submitter"),
    "reference": ("业务引用", "Reference"),
    "anchor_dev_warning": (
        "开发用区块链（本机测试链，无第三方见证），仅供测试",
        "DEVELOPMENT chain (local test chain, no third-party witness) — for testing only",
    ),
    "anchor_missing": ("尚未上链（待补）", "Not anchored on a blockchain yet (pending)"),
    "root_is_manifest": (
        "上链哈希值即清单文件的 SHA-256。",
        "The anchored value is the manifest's SHA-256.",
    ),
    "root_differs": (
        "上链哈希值与清单文件 SHA-256 不同（批量上链的默克尔根），须依证据包内的默克尔路径复算。",
        "The anchored value differs from the manifest SHA-256 (a batch Merkle root); "
        "recompute it with the Merkle path in the bundle.",
    ),
    # QR
    "sec_qr": ("核验二维码", "Verification QR code"),
    "qr_explain": (
        "二维码内容为紧凑 JSON：v 为格式版本，m 为清单文件 SHA-256，c 为链 ID，a 为存证合约地址，"
        "t 为交易哈希（未上链时不含 c、a、t）。扫码后可与本报告及证据包逐项比对。",
        "The QR code holds compact JSON: v is the format version, m the manifest SHA-256, "
        "c the chain ID, a the contract address, t the transaction hash (c, a and t are "
        "absent before anchoring). Compare it with this report and the bundle.",
    ),
    "qr_payload": ("二维码内容", "QR payload"),
    # verification
    "sec_verify": ("核验步骤", "How to verify"),
    "verify_intro": (
        "以下步骤仅使用通用工具（coreutils、OpenSSL 1.1.1 及以上、Foundry cast、curl），"
        "在证据包解压后的根目录执行：",
        "These steps use only stock tools (coreutils, OpenSSL 1.1.1 or later, Foundry cast, "
        "curl), run in the root folder of the unpacked evidence bundle:",
    ),
    "step_sums": (
        "校验证据包内全部文件的 SHA-256，每个文件均应显示 OK：",
        "Check the SHA-256 of every file in the bundle; each line must say OK:",
    ),
    "step_manifest": (
        "计算清单文件的 SHA-256 与 SM3 哈希值，应与本报告第{sec}部分所载一致：",
        "Hash the manifest with SHA-256 and SM3; the results must match section {sec}:",
    ),
    "step_sm3": (
        "用国密 SM3 复核单个文件（以 {file} 为例，其余文件同理），"
        "结果应等于电子数据清单中的 SM3 值：",
        "Check one file with SM3 (here {file}; the others likewise); the result must equal "
        "its SM3 in the exhibit list:",
    ),
    "step_sm3_empty": (
        "用国密 SM3 复核单个文件，结果应等于电子数据清单中的 SM3 值：",
        "Check a file with SM3; the result must equal its SM3 in the exhibit list:",
    ),
    "step_ts": (
        "核验 RFC 3161 时间戳并查看其内容：",
        "Verify the RFC 3161 time-stamp and show its contents:",
    ),
    "step_ts_missing": (
        "核验时间戳（尚未取得，待补；取得后执行），应显示 Verification: OK：",
        "Verify the time-stamp (none obtained yet; run this once it is), it must print "
        "Verification: OK:",
    ),
    "step_cast": (
        "查询链上存证合约：返回值非零即表示该哈希值已于链上登记，其值为上链区块时间（Unix 秒）：",
        "Ask the registry contract: a non-zero result means the value is registered on chain; "
        "it is the anchoring block's time in Unix seconds:",
    ),
    "step_receipt": (
        "查询存证交易回执，核对交易状态、合约地址、区块与上链哈希值：",
        "Fetch the anchor transaction's receipt and check its status, contract, block and "
        "anchored value:",
    ),
    "expected": ("应得结果：", "Expected:"),
    "step_chain_missing": (
        "尚未上链（待补）：上链后以实际合约地址、交易哈希与节点地址替换下列命令中的尖括号部分：",
        "Not anchored yet (pending): once anchored, replace the bracketed parts with the "
        "real contract, transaction hash and node URL:",
    ),
    # statement
    "sec_statement": ("声明", "Statement"),
    "statement_generated": (
        "本报告由取证工具 {tool} 依据采集时记录的原始电子数据直接自动生成，未经人工编辑。"
        "依照《最高人民法院关于民事诉讼证据的若干规定》第十五条，直接来源于电子数据的打印件"
        "或其他可以显示、识别的输出介质，视为电子数据的原件。",
        "This report was generated automatically by the tool {tool} directly from the data "
        "recorded during the capture, without manual editing. Under Article 15 of the "
        "Supreme People's Court Provisions on Evidence in Civil Proceedings, a printout or "
        "other output that comes directly from electronic data is treated as its original.",
    ),
    "statement_scope": (
        "本报告证明的是：采集所用浏览器于上述时间从上述网址实际接收并呈现的内容。"
        "它不证明网站服务器的运营者身份；除服务器出示的 TLS 证书所能证明的范围外，"
        "本报告不对网站的归属作任何认定。时间戳与区块链存证仅证明清单文件的哈希值"
        "不晚于相应时间已经存在。",
        "This report shows what the capturing browser received and displayed from the "
        "addresses above, and when. It does not show who operates the web server: beyond "
        "what the server's TLS certificate attests, it makes no finding about who the "
        "site belongs to. The time-stamp and the blockchain anchor only show that the "
        "manifest's hash existed no later than the times given.",
    ),
    # signatures
    "sec_signature": ("签名", "Signatures"),
    "sig_officer": ("取证人员", "Officer"),
    "sig_signature": ("取证人员签名", "Signature"),
    "sig_date": ("日期", "Date"),
    # page furniture
    "footer_pages": ("第 {page} 页 共 {total} 页", "Page {page} of {total}"),
    "footer_report": ("报告编号 {number}", "Report {number}"),
    "footer_manifest": ("清单 SHA-256 {digest}", "Manifest SHA-256 {digest}"),
    # section numbering
    "sec_number": ("{n}、{title}", "{n}. {title}"),
    # capture provenance
    "capture_host": ("采集主机", "Capture machine"),
    "outbound_ip": ("采集出口 IP", "Outbound IP"),
    "clock_offset": ("本机时钟偏差", "Local clock offset"),
    "clock_offset_value": ("{ms} 毫秒（对照 {source}）", "{ms} ms (against {source})"),
    "device": ("设备模拟", "Device emulation"),
    "steps": ("操作步骤", "Navigation steps"),
    # environment
    "sec_environment": ("采集环境清洁性检查", "Clean-environment check"),
    "env_missing": (
        "本次采集未记录清洁性检查结果",
        "No clean-environment check was recorded for this capture",
    ),
    "col_check": ("检查项", "Check"),
    "col_result": ("结果", "Result"),
    "col_detail": ("说明", "Detail"),
    "env_pass": ("通过", "pass"),
    "env_warn": ("警告", "warning"),
    "env_fail": ("未通过", "FAILED"),
    "env_not_checked": ("未检查", "not checked"),
    # viewport shot
    "viewport_heading": ("首屏截图（视口）", "First screen (viewport) shot"),
    "viewport_note": (
        "下图为页面打开后浏览器视口内所见（原图 {w} × {h} 像素），原始文件见电子数据清单。",
        "What the browser's viewport showed after the page opened ({w} × {h} px); the "
        "original file is in the exhibit list.",
    ),
    # network provenance
    "sec_network": ("网络来源信息", "Network provenance"),
    "net_intro": (
        "域名解析结果为采集主机操作系统解析器于采集时的应答；各请求实际连接的服务器 IP "
        "由浏览器记录，完整内容见 WARC 文件。",
        "DNS answers are the capture machine's resolver's at capture time; the server IP "
        "of each request is what the browser connected to (full detail in the WARC).",
    ),
    "dns_heading": ("域名解析（DNS）", "DNS"),
    "col_host": ("域名", "Host"),
    "col_addresses": ("解析地址", "Addresses"),
    "tls_heading": ("TLS 证书", "TLS certificates"),
    "tls_subject": ("证书主体", "Subject"),
    "tls_issuer": ("签发者", "Issuer"),
    "tls_validity": ("有效期", "Validity"),
    "tls_validity_value": ("{a} 至 {b}", "{a} to {b}"),
    "tls_protocol": ("协议 / 密码套件", "Protocol / cipher"),
    "tls_san": ("备用名称（SAN）", "Subject alt names"),
    "tls_chain": ("证书链指纹（SHA-256，叶证书在前）", "Chain SHA-256 (leaf first)"),
    "tls_verdict": ("证书验证", "Certificate check"),
    "tls_ok": ("证书链对该域名验证通过", "The chain verified for this host"),
    "tls_error": ("未通过：{e}", "Not trusted: {e}"),
    "exchanges_heading": ("请求与服务器 IP", "Requests and server IPs"),
    "col_method": ("方法", "Method"),
    "col_status": ("状态", "Status"),
    "col_url": ("网址", "URL"),
    "col_ip": ("服务器 IP", "Server IP"),
    "net_none": ("未记录", "Not recorded"),
    # anchor proof
    "confirmations": ("确认数", "Confirmations"),
    "confirmations_value": (
        "{n}（报告生成时查询）",
        "{n} (queried when the report was generated)",
    ),
    "confirmations_unknown": ("未查询", "Not queried"),
    "merkle_leaf": ("默克尔叶子（清单 SHA-256）", "Merkle leaf (manifest SHA-256)"),
    "merkle_position": ("叶子位置", "Leaf position"),
    "merkle_position_value": (
        "第 {i} 号叶子（自 0 起），共 {n} 个",
        "leaf {i} (from 0) of {n}",
    ),
    "merkle_root": ("默克尔根（上链值）", "Merkle root (anchored)"),
    "merkle_proof": ("包含证明（RFC 9162，自叶向根）", "Inclusion proof (RFC 9162, leaf up)"),
    "merkle_proof_empty": (
        "无（单叶树：根即叶子哈希）",
        "None (one-leaf tree: the root is the leaf hash)",
    ),
    # custody
    "sec_custody": ("保管链记录", "Custody log"),
    "custody_missing": ("本报告未附保管链记录", "No custody log was supplied for this report"),
    "col_time": ("时间", "Time"),
    "col_actor": ("操作人", "Actor"),
    "col_action": ("操作", "Action"),
    "col_reason": ("事由", "Reason"),
    "custody_hash": ("记录链哈希", "Log hash"),
    # characters outside the font
    "glyph_note": (
        "本报告所用字体无法显示以下 {n} 个字符，已在正文中以“□”代替：{chars}。"
        "原始数据（清单文件与采集记录）未作任何改动。",
        "The report font cannot show the following {n} character(s); they are printed as "
        "\u201c\u25a1\u201d: {chars}. The original data (manifest and capture record) is "
        "unchanged.",
    ),
}


def check_language(language: str) -> int:
    """Index of ``language`` in each row of the table; ReportError when unsupported."""
    try:
        return LANGUAGES.index(language)
    except ValueError:
        raise ReportError(
            f"unsupported report language {language!r}: use one of {', '.join(LANGUAGES)}"
        ) from None


def text(language: str, key: str, **values: object) -> str:
    """The string ``key`` in ``language`` with ``values`` filled in."""
    template = _TEXT[key][check_language(language)]
    return template.format(**values) if values else template
