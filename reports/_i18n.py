"""Every string the PDF reports print goes through the one message catalogue.

The tables (this module's for the item report; the case report, the
verification report and the screenshot tiles keep their own beside the code
that prints them) hold the English source of each string, marked for
extraction; ``translate()`` renders it through the gettext catalogue
(evidence/model/locale), where the Simplified Chinese lives beside the
English for translators and reviewers alike.
"""

from __future__ import annotations

from evidence.model import i18n
from evidence.model.errors import ReportError
from evidence.model.i18n import N_

LANGUAGES = i18n.LANGUAGES

# key -> English source; ``{name}`` placeholders are filled with str.format
# after translation, so a translation may move them but must keep them.
_TEXT: dict[str, str] = {
    "title": N_("Web Evidence Preservation Report"),
    "report_number": N_("Report number"),
    "generated_at": N_("Generated"),
    "case_number": N_("Case number"),
    "case_title": N_("Case title"),
    "case_cause": N_("Cause of action"),
    "agency": N_("Agency"),
    "officers": N_("Officers"),
    "item_id": N_("Evidence item ID"),
    "tool_version": N_("Tool and version"),
    "notes": N_("Notes"),
    # TRANSLATORS: the separator between the items of a list, e.g. officers' names.
    "list_sep": N_(", "),
    "none": N_("None"),
    "unknown": N_("Unknown"),
    "time_beijing": N_("{t} (Beijing time, UTC+8)"),
    "time_utc": N_("{t} (UTC)"),
    "clipped": N_("… (cut here: {n} characters in all, see the bundle)"),
    "more_items": N_("… and {n} more, see the bundle"),
    "no_redirects": N_("None (no redirects)"),
    # capture
    "sec_capture": N_("Capture summary"),
    "requested_url": N_("URL entered"),
    "final_url": N_("Final URL"),
    "redirect_chain": N_("Redirect chain"),
    "capture_start": N_("Capture start"),
    "capture_end": N_("Capture end"),
    "page_title": N_("Page title"),
    "http_status": N_("HTTP status"),
    "server_ip": N_("Server IP"),
    "browser_version": N_("Browser version"),
    "user_agent": N_("User agent"),
    "viewport": N_("Viewport"),
    "viewport_value": N_("{w} × {h} px"),
    "warnings": N_("Warnings"),
    # screenshot
    "sec_screenshot": N_("Full-page screenshot"),
    "screenshot_note": N_(
        "The full-page screenshot ({w} × {h} px) scaled to the page width and laid out in {n} "
        "consecutive parts; the original PNG file and its hashes are in the exhibit list."
    ),
    "screenshot_part": N_("Screenshot part {i}/{n} (source pixel rows {y0}–{y1})"),
    # exhibits
    "sec_exhibits": N_("Exhibit list"),
    "col_no": N_("No."),
    "col_path": N_("File"),
    "col_role": N_("Role"),
    "col_type": N_("Media type"),
    "col_size": N_("Size (bytes)"),
    "exhibits_empty": N_("(no exhibits)"),
    "manifest_sha256": N_("Manifest SHA-256"),
    "manifest_sm3": N_("Manifest SM3"),
    "manifest_note": N_(
        "manifest.json lists every file above with its hashes; the time-stamp and the blockchain "
        "anchor both cover this file's hash."
    ),
    # timestamp
    "sec_timestamp": N_("Trusted time-stamp"),
    "tsa_url": N_("TSA URL"),
    "tsa_subject": N_("TSA subject"),
    "serial": N_("Serial number"),
    "gen_time": N_("Time (genTime)"),
    "policy": N_("Policy OID"),
    "hash_algorithm": N_("Hash algorithm"),
    "message_imprint": N_("Message imprint"),
    "nonce": N_("Nonce"),
    "ts_dev_warning": N_("DEVELOPMENT time-stamp authority — not a trusted third party"),
    "ts_missing": N_("No time-stamp obtained yet (pending)"),
    # anchor
    "sec_anchor": N_("Blockchain anchor"),
    "network": N_("Network"),
    "chain_id": N_("Chain ID"),
    "contract": N_("Contract"),
    "tx_hash": N_("Transaction hash"),
    "block_number": N_("Block number"),
    "block_hash": N_("Block hash"),
    "block_time": N_("Block time"),
    "root": N_("Anchored value"),
    "submitter": N_("Submitter"),
    "reference": N_("Reference"),
    "anchor_dev_warning": N_(
        "DEVELOPMENT chain (local test chain, no third-party witness) — for testing only"
    ),
    "anchor_missing": N_("Not anchored on a blockchain yet (pending)"),
    "root_is_manifest": N_("The anchored value is the manifest's SHA-256."),
    "root_differs": N_(
        "The anchored value differs from the manifest SHA-256 (a batch Merkle root); recompute "
        "it with the Merkle path in the bundle."
    ),
    # QR
    "sec_qr": N_("Verification QR code"),
    "qr_explain": N_(
        "The QR code holds compact JSON: v is the format version, m the manifest SHA-256, c the "
        "chain ID, a the contract address, t the transaction hash (c, a and t are absent before "
        "anchoring). Compare it with this report and the bundle."
    ),
    "qr_payload": N_("QR payload"),
    # verification
    "sec_verify": N_("How to verify"),
    "verify_intro": N_(
        "These steps use only stock tools (coreutils, OpenSSL 1.1.1 or later, Foundry cast, "
        "curl), run in the root folder of the unpacked evidence bundle:"
    ),
    "step_sums": N_("Check the SHA-256 of every file in the bundle; each line must say OK:"),
    "step_manifest": N_(
        "Hash the manifest with SHA-256 and SM3; the results must match section {sec}:"
    ),
    "step_sm3": N_(
        "Check one file with SM3 (here {file}; the others likewise); the result must equal its "
        "SM3 in the exhibit list:"
    ),
    "step_sm3_empty": N_(
        "Check a file with SM3; the result must equal its SM3 in the exhibit list:"
    ),
    "step_ts": N_("Verify the RFC 3161 time-stamp and show its contents:"),
    "step_ts_missing": N_(
        "Verify the time-stamp (none obtained yet; run this once it is), it must print "
        "Verification: OK:"
    ),
    "step_cast": N_(
        "Ask the registry contract: a non-zero result means the value is registered on chain; it "
        "is the anchoring block's time in Unix seconds:"
    ),
    "step_receipt": N_(
        "Fetch the anchor transaction's receipt and check its status, contract, block and "
        "anchored value:"
    ),
    "expected": N_("Expected:"),
    "step_chain_missing": N_(
        "Not anchored yet (pending): once anchored, replace the bracketed parts with the real "
        "contract, transaction hash and node URL:"
    ),
    # statement
    "sec_statement": N_("Statement"),
    "statement_generated": N_(
        "This report was generated automatically by the tool {tool} directly from the data "
        "recorded during the capture, without manual editing. Under Article 15 of the Supreme "
        "People's Court Provisions on Evidence in Civil Proceedings, a printout or other output "
        "that comes directly from electronic data is treated as its original."
    ),
    "statement_scope": N_(
        "This report shows what the capturing browser received and displayed from the addresses "
        "above, and when. It does not show who operates the web server: beyond what the server's "
        "TLS certificate attests, it makes no finding about who the site belongs to. The "
        "time-stamp and the blockchain anchor only show that the manifest's hash existed no "
        "later than the times given."
    ),
    # signatures
    "sec_signature": N_("Signatures"),
    "sig_officer": N_("Officer"),
    "sig_signature": N_("Signature"),
    "sig_date": N_("Date"),
    # page furniture
    "footer_pages": N_("Page {page} of {total}"),
    "footer_report": N_("Report {number}"),
    "footer_manifest": N_("Manifest SHA-256 {digest}"),
    # section numbering
    "sec_number": N_("{n}. {title}"),
    # capture provenance
    "capture_host": N_("Capture machine"),
    "outbound_ip": N_("Outbound IP"),
    "outbound_public": N_("{ip} (public exit address, as reported by {service})"),
    "outbound_local": N_("{ip} (local address; public exit not checked)"),
    "clock_offset": N_("Clock check"),
    "clock_offset_value": N_("local clock {ms} ms against {source}"),
    "clock_status_suffix": N_(" ({status}: beyond the allowed offset)"),
    "clock_unchecked": N_("Could not be checked (warning): {detail}"),
    "clock_not_recorded": N_("No clock check was recorded for this capture"),
    "warnings_count": N_("{n} warning(s):"),
    "warning_check": N_("• Environment check “{name}”: {status}"),
    "warning_capture": N_("• Capture: {text}"),
    "warnings_see": N_("Details in the section “{section}”."),
    "device": N_("Device emulation"),
    "steps": N_("Navigation steps"),
    # environment
    "sec_environment": N_("Clean-environment check"),
    "env_missing": N_("No clean-environment check was recorded for this capture"),
    "col_check": N_("Check"),
    "col_result": N_("Result"),
    "col_detail": N_("Detail"),
    "env_pass": N_("pass"),
    "env_warn": N_("warning"),
    "env_fail": N_("FAILED"),
    "env_not_checked": N_("not checked"),
    # viewport shot
    "viewport_heading": N_("First screen (viewport) shot"),
    "viewport_note": N_(
        "What the browser's viewport showed after the page opened ({w} × {h} px); the original "
        "file is in the exhibit list."
    ),
    # network provenance
    "sec_network": N_("Network provenance"),
    "net_intro": N_(
        "DNS answers are the capture machine's resolver's at capture time; the server IP of each "
        "request is what the browser connected to (full detail in the WARC)."
    ),
    "dns_heading": N_("DNS"),
    "col_host": N_("Host"),
    "col_addresses": N_("Addresses"),
    "tls_heading": N_("TLS certificates"),
    "tls_subject": N_("Subject"),
    "tls_issuer": N_("Issuer"),
    "tls_validity": N_("Validity"),
    "tls_validity_value": N_("{a} to {b}"),
    "tls_protocol": N_("Protocol / cipher"),
    "tls_san": N_("Subject alt names"),
    "tls_chain": N_("Chain SHA-256 (leaf first)"),
    "tls_verdict": N_("Certificate check"),
    "tls_ok": N_("The chain verified for this host"),
    "tls_error": N_("Not trusted: {e}"),
    "exchanges_heading": N_("Requests and server IPs"),
    "col_method": N_("Method"),
    "col_status": N_("Status"),
    "col_url": N_("URL"),
    "col_ip": N_("Server IP"),
    "net_none": N_("Not recorded"),
    # anchor proof
    "confirmations": N_("Confirmations"),
    "confirmations_value": N_("{n} (queried when the report was generated)"),
    "confirmations_unknown": N_("Not queried"),
    "merkle_leaf": N_("Merkle leaf (manifest SHA-256)"),
    "merkle_position": N_("Leaf position"),
    "merkle_position_value": N_("leaf {i} (from 0) of {n}"),
    "merkle_root": N_("Merkle root (anchored)"),
    "merkle_proof": N_("Inclusion proof (RFC 9162, leaf up)"),
    "merkle_proof_empty": N_("None (one-leaf tree: the root is the leaf hash)"),
    # custody
    "sec_custody": N_("Custody log"),
    "custody_missing": N_("No custody log was supplied for this report"),
    "col_time": N_("Time"),
    "col_actor": N_("Actor"),
    "col_action": N_("Action"),
    "col_reason": N_("Reason"),
    "custody_hash": N_("Log hash"),
    # characters outside the font
    "glyph_note": N_(
        "The report font cannot show the following {n} character(s); they are printed as "
        "\u201c\u25a1\u201d: {chars}. The original data (manifest and capture record) is "
        "unchanged."
    ),
}


def check_language(language: str) -> int:
    """Index of ``language`` in :data:`LANGUAGES`; ReportError when unsupported."""
    try:
        return LANGUAGES.index(language)
    except ValueError:
        raise ReportError(
            f"unsupported report language {language!r}: use one of {', '.join(LANGUAGES)}"
        ) from None


def translate(language: str, message: str, **values: object) -> str:
    """``message``, an English source marked with ``N_``, in ``language`` with ``values``
    filled in; the one way every report table reaches the catalogue."""
    check_language(language)
    template = i18n.translation(language).gettext(message)
    return template.format(**values) if values else template


def text(language: str, key: str, **values: object) -> str:
    """The item report's string ``key`` in ``language`` with ``values`` filled in."""
    return translate(language, _TEXT[key], **values)
