"""The verifier's reasons: one code per kind of finding and its English template.

The templates are the English sentences the checks have always written
(``--json`` and the command line keep them); the catalogue holds their
Chinese. ``{error}`` carries a message from elsewhere (a library, a lower
layer) unchanged.
"""

from __future__ import annotations

import enum

from evidence.model.i18n import N_
from evidence.model.verification_reasons_documents import DOCUMENT_TEMPLATES


class ReasonCode(enum.StrEnum):
    """One kind of finding; its English template is in :data:`TEMPLATES`."""

    ERROR = "error"
    # reading the bundle, the manifest, the checksum lists and the exhibits
    MEMBER_UNREADABLE = "bundle.member_unreadable"
    BUNDLE_EMPTY = "bundle.empty"
    BUNDLE_READ = "bundle.read"
    MISSING = "missing"
    MANIFEST_CANONICAL = "manifest.canonical"
    LISTING_MATCHES = "listing.matches"
    LISTED_MISSING = "listing.missing"
    LISTING_DIGEST_DIFFERS = "listing.digest_differs"
    LISTING_UNLISTED = "listing.unlisted"
    ARTIFACT_MISSING = "artifact.missing"
    ARTIFACT_UNREADABLE = "artifact.unreadable"
    ARTIFACT_SIZE_DIFFERS = "artifact.size_differs"
    ARTIFACT_SHA256_DIFFERS = "artifact.sha256_differs"
    ARTIFACT_SM3_DIFFERS = "artifact.sm3_differs"
    ARTIFACT_MATCHES = "artifact.matches"
    ARTIFACT_EXTRA = "artifact.extra"

    TOKEN_ABSENT = "timestamp.absent"
    TOKEN_VALID = "timestamp.valid"
    TOKEN_FAILED = "timestamp.failed"
    TOKEN_CONSISTENT = "timestamp.consistent"
    TOKEN_AGAINST_YOUR_ROOTS = "timestamp.against_your_roots"
    TOKEN_NO_TRUSTED_ROOT = "timestamp.no_trusted_root"
    START_NOT_A_TIME = "time.start_not_a_time"
    START_NO_ZONE = "time.start_no_zone"
    START_BEFORE = "time.start_before"
    START_AFTER = "time.start_after"
    LEAF_NOT_MANIFEST = "anchor.leaf_not_manifest"
    PROOF_MALFORMED = "anchor.proof_malformed"
    PATH_WRONG_ROOT = "anchor.path_wrong_root"
    PATH_HOLDS = "anchor.path_holds"
    ANCHOR_ABSENT = "anchor.absent"
    CHAIN_ID_DIFFERS = "anchor.chain_id_differs"
    CHAIN_NOT_TRUSTED = "anchor.chain_not_trusted"
    CHAIN_TRUSTED = "anchor.chain_trusted"
    REGISTRY_BUNDLE_WORD = "anchor.registry_bundle_word"
    REGISTRY_MISMATCH = "anchor.registry_mismatch"
    REGISTRY_TRUSTED = "anchor.registry_trusted"
    BLOCK_BEFORE_TOKEN = "anchor.block_before_token"
    BLOCK_TOO_LATE = "anchor.block_too_late"
    BLOCK_IN_TIME = "anchor.block_in_time"
    CHAIN_OFFLINE = "anchor.offline"
    NO_TRUSTED_ENDPOINT = "anchor.no_trusted_endpoint"
    ENDPOINT_UNREACHABLE = "anchor.endpoint_unreachable"
    CHAIN_ERROR = "anchor.chain_error"
    RECORD_DIFFERS = "anchor.record_differs"
    ANCHOR_FOUND = "anchor.found"
    ANCHOR_FOUND_DEVELOPMENT = "anchor.found_development"
    REGISTRY_NOT_YOURS = "anchor.registry_not_yours"

    CUSTODY_ABSENT = "custody.absent"
    CUSTODY_LINKED = "custody.linked"
    CUSTODY_ABSENT_ANCHORED = "custody.absent_anchored"
    CUSTODY_OWN_CHAIN = "custody.own_chain"
    CUSTODY_HEAD_NO_PROOF = "custody.head_no_proof"
    CUSTODY_HEAD_NOT_LAST = "custody.head_not_last"
    CUSTODY_PROOF_MALFORMED = "custody.proof_malformed"
    CUSTODY_PATH_WRONG_ROOT = "custody.path_wrong_root"
    CUSTODY_HEAD_MISSING = "custody.head_missing"
    CUSTODY_HEAD_REWRITTEN = "custody.head_rewritten"
    CUSTODY_NO_SEAL = "custody.no_seal"
    CUSTODY_SEAL_OTHER_MANIFEST = "custody.seal_other_manifest"
    CUSTODY_ITEM_AFTER_HEAD = "custody.item_after_head"
    CUSTODY_HEAD_ANCHORED = "custody.head_anchored"
    CUSTODY_LATER_EVENTS = "custody.later_events"
    CUSTODY_THROUGH_REDACTED = "custody.through_redacted"
    CUSTODY_BOUND = "custody.bound"

    WARC_ABSENT = "warc.absent"
    WARC_STRETCHES = "warc.stretches"
    WARC_UNSIGNED = "warc.unsigned"
    WARC_EMPTY = "warc.empty"
    WARC_MATCHES = "warc.matches"
    WARC_RECORD_DIGEST = "warc.record_digest"
    WARC_RECORD_TRUNCATED = "warc.record_truncated"
    WARC_UNREADABLE = "warc.unreadable"
    REPLAY_NO_BROWSER = "replay.no_browser"
    REPLAY_FAILED = "replay.failed"
    REPLAY_COMPARED = "replay.compared"
    REPLAY_TILES = "replay.tiles"
    REPLAY_NOTHING = "replay.nothing"
    REPLAY_DISABLED = "replay.disabled"
    REPLAY_MISSING = "replay.missing"
    REPLAY_VIEWPORT = "replay.viewport"
    CHECK_CRASHED = "check.crashed"
    NEEDS_FAILED = "needs.failed"
    NEEDS_UNTRUSTED = "needs.untrusted"
    NEEDS_NOT_CHECKED = "needs.not_checked"
    NEEDS_NOT_ESTABLISHED = "needs.not_established"
    NEEDS_NOBODY = "needs.nobody"

    INDEX_BOUND = "index.bound"
    INDEX_SIGNED_NO_ROOTS = "index.signed_no_roots"
    INDEX_SIGNED_UNTRUSTED = "index.signed_untrusted"
    INDEX_SIGNED = "index.signed"
    INDEX_NO_TOKEN = "index.no_token"
    INDEX_TOKEN = "index.token"
    INDEX_TOKEN_FAILED = "index.token_failed"
    INDEX_ABSENT = "index.absent"

    INDEX_SIZE_DIFFERS = "index.size_differs"
    INDEX_SHA256_DIFFERS = "index.sha256_differs"
    INDEX_SM3_DIFFERS = "index.sm3_differs"
    INDEX_CHANGED = "index.changed"
    INDEX_UNREADABLE = "index.unreadable"
    INDEX_UNBOUND_UNLISTED = "index.unbound_unlisted"
    INDEX_UNBOUND = "index.unbound"

    # signatures, the report PDF, the session video, the WACZ
    SIGNATURE_NONE = "signature.none"
    SIGNATURE_UNREADABLE = "signature.unreadable"
    SIGNATURE_UNTRUSTED = "signature.untrusted"
    SIGNATURE_VALID = "signature.valid"
    SIGNERS_ABSENT = "signers.absent"
    SIGNERS_MATCH = "signers.match"
    SIGNERS_UNLISTED = "signers.unlisted"
    SIGNERS_FINGERPRINT_DIFFERS = "signers.fingerprint_differs"
    SIGNERS_ISSUER_DIFFERS = "signers.issuer_differs"
    SIGNERS_NO_SIGNATURE = "signers.no_signature"
    REPORT_ABSENT = "report.absent"
    REPORT_UNREAD = "report.unread"
    REPORT_NOT_PDF = "report.not_pdf"
    REPORT_ENCRYPTED = "report.encrypted"
    REPORT_UNPARSABLE = "report.unparsable"
    REPORT_UNREADABLE_THROUGH = "report.unreadable_through"
    REPORT_ENCRYPTED_FOR = "report.encrypted_for"
    REPORT_UNPARSABLE_FOR = "report.unparsable_for"
    REPORT_UNREADABLE_THROUGH_FOR = "report.unreadable_through_for"
    REPORT_DAMAGED = "report.damaged"
    REPORT_DAMAGED_MORE = "report.damaged_more"
    REPORT_PARSES_PDFA = "report.parses_pdfa"
    REPORT_PARSES = "report.parses"
    REPORT_SIGNED = "report.signed"
    REPORT_UNSIGNED = "report.unsigned"
    REPORT_ACTIVE = "report.active"
    REPORT_INERT = "report.inert"
    REPORT_XMP_UNREADABLE = "report.xmp_unreadable"
    REPORT_OTHER_ITEM = "report.other_item"
    REPORT_XMP_NAMES_TEXT_UNREAD = "report.xmp_names_text_unread"
    REPORT_NOTHING_NAMES_TEXT_UNREAD = "report.nothing_names_text_unread"
    REPORT_TEXT_LACKS = "report.text_lacks"
    REPORT_NOTHING_SHOWS = "report.nothing_shows"
    REPORT_XMP_AND_TEXT_NAME = "report.xmp_and_text_name"
    REPORT_TEXT_NAMES = "report.text_names"
    REPORT_OUTSIDE_FORM = "report.outside_form"
    REPORT_SIGNATURE_VALID = "report.signature_valid"
    REPORT_SIGNATURE_INTACT = "report.signature_intact"
    REPORT_COVERS_WHOLE_FILE = "report.covers_whole_file"
    REPORT_LATER_SIGNATURES_ONLY = "report.later_signatures_only"
    REPORT_SIGNER_TRUSTED = "report.signer_trusted"
    REPORT_SIGNER_NOT_ESTABLISHED = "report.signer_not_established"
    REPORT_SIGNER_NO_ROOTS = "report.signer_no_roots"
    REPORT_NO_TOKEN = "report.no_token"
    REPORT_NO_TOKEN_CLOCK = "report.no_token_clock"
    REPORT_TOKEN_TRUSTED = "report.token_trusted"
    REPORT_TOKEN_UNTRUSTED = "report.token_untrusted"
    REPORT_TOKEN_NO_ROOTS = "report.token_no_roots"
    REPORT_SIGNATURE_BROKEN = "report.signature_broken"
    REPORT_CHANGED_AFTER = "report.changed_after"
    REPORT_TOKEN_BROKEN = "report.token_broken"
    VIDEO_MISSING = "video.missing"
    VIDEO_UNREAD = "video.unread"
    VIDEO_FRAMES_MATCH = "video.frames_match"
    VIDEO_FRAME_COUNT_DIFFERS = "video.frame_count_differs"
    VIDEO_FRAME_TIME_DIFFERS = "video.frame_time_differs"
    VIDEO_FRAME_LIST_UNREADABLE = "video.frame_list_unreadable"
    VIDEO_NO_SPAN = "video.no_span"
    VIDEO_SPAN_UNREADABLE = "video.span_unreadable"
    VIDEO_SPAN_DIFFERS = "video.span_differs"
    VIDEO_SPAN_OUTSIDE = "video.span_outside"
    VIDEO_SPAN = "video.span"
    VIDEO_COVERS = "video.covers"
    VIDEO_GAP_START = "video.gap_start"
    VIDEO_GAP_END = "video.gap_end"
    VIDEO_GAP_BOTH = "video.gap_both"
    VIDEO_COPY_NOT_EXHIBIT = "video.copy_not_exhibit"
    VIDEO_COPY_NOT_DESCRIBED = "video.copy_not_described"
    VIDEO_COPY_OTHER_NAME = "video.copy_other_name"
    VIDEO_COPY_OTHER_SOURCE = "video.copy_other_source"
    VIDEO_COPY_COUNT_STATED = "video.copy_count_stated"
    VIDEO_COPY_UNREAD = "video.copy_unread"
    VIDEO_COPY_COUNT_DIFFERS = "video.copy_count_differs"
    VIDEO_COPY_DERIVED = "video.copy_derived"
    WACZ_UNLISTED = "wacz.unlisted"
    WACZ_RESOURCES_MATCH = "wacz.resources_match"
    WACZ_NO_PATH = "wacz.no_path"
    WACZ_LISTED_TWICE = "wacz.listed_twice"
    WACZ_LISTED_MISSING = "wacz.listed_missing"
    WACZ_SIZE_DIFFERS = "wacz.size_differs"
    WACZ_NO_DIGEST = "wacz.no_digest"
    WACZ_DIGEST_OTHER_PATH = "wacz.digest_other_path"
    WACZ_DIGEST_DIFFERS = "wacz.digest_differs"
    WACZ_DIGEST_MATCHES = "wacz.digest_matches"
    WACZ_SIGNATURE_UNCHECKED = "wacz.signature_unchecked"
    WACZ_NO_WARC = "wacz.no_warc"
    WACZ_NO_EVIDENCE = "wacz.no_evidence"
    WACZ_NO_EVIDENCE_CLAIM = "wacz.no_evidence_claim"
    WACZ_WARC_NO_COPY = "wacz.warc_no_copy"
    WACZ_WARC_DIFFERS = "wacz.warc_differs"
    WACZ_WARC_IDENTICAL = "wacz.warc_identical"
    WACZ_WARC_UNSEALED = "wacz.warc_unsealed"
    WACZ_MANIFEST_UNNAMED = "wacz.manifest_unnamed"
    WACZ_MANIFEST_LINKED = "wacz.manifest_linked"
    WACZ_MANIFEST_NOT_LINKED = "wacz.manifest_not_linked"
    VIDEO_FRAME_SHA256_DIFFERS = "video.frame_sha256_differs"
    WACZ_HASH_NOT_SHA256 = "wacz.hash_not_sha256"
    WACZ_SHA256_DIFFERS = "wacz.sha256_differs"


TEMPLATES: dict[ReasonCode, str] = {
    ReasonCode.ERROR: N_("{error}"),
    ReasonCode.MEMBER_UNREADABLE: N_("unreadable or corrupted: {error}"),
    ReasonCode.BUNDLE_EMPTY: N_("the bundle holds no files"),
    ReasonCode.BUNDLE_READ: N_("{n} files read to the end, each hashed with SHA-256 and SM3"),
    ReasonCode.MISSING: N_("missing from the bundle"),
    ReasonCode.MANIFEST_CANONICAL: N_("canonical manifest, SHA-256 {sha256}"),
    ReasonCode.LISTING_MATCHES: N_("{n} files match {listing}"),
    ReasonCode.LISTED_MISSING: N_("listed in {listing} but missing from the bundle"),
    ReasonCode.LISTING_DIGEST_DIFFERS: N_(
        "{algorithm} {got} differs from {listing} ({expected}): {name} or its {listing} line "
        "was altered"
    ),
    ReasonCode.LISTING_UNLISTED: N_("file is in the bundle but not listed in {listing}"),
    ReasonCode.ARTIFACT_MISSING: N_("listed in manifest.json but missing from the bundle"),
    ReasonCode.ARTIFACT_UNREADABLE: N_("unreadable or corrupted"),
    ReasonCode.ARTIFACT_SIZE_DIFFERS: N_("size {got} differs from the manifest's {expected}"),
    ReasonCode.ARTIFACT_SHA256_DIFFERS: N_("SHA-256 {got} differs from the manifest's {expected}"),
    ReasonCode.ARTIFACT_SM3_DIFFERS: N_("SM3 {got} differs from the manifest's {expected}"),
    ReasonCode.ARTIFACT_MATCHES: N_("{size} bytes, SHA-256 and SM3 match the manifest"),
    ReasonCode.ARTIFACT_EXTRA: N_("file under artifacts/ that the manifest does not list"),
    ReasonCode.TOKEN_ABSENT: N_(
        "the bundle has no time-stamp token (the item was not timestamped yet)"
    ),
    ReasonCode.TOKEN_VALID: N_(
        "signed by {tsa} at {time} over the manifest digest; the chain ends at {root}"
    ),
    ReasonCode.TOKEN_FAILED: N_("{error} (token over {manifest}, whose SHA-256 is {sha256})"),
    ReasonCode.TOKEN_CONSISTENT: N_(
        "consistent: signed by {tsa} at {time} over the manifest digest, but only against the "
        "root the bundle ships ({file}: {root})"
    ),
    ReasonCode.TOKEN_AGAINST_YOUR_ROOTS: N_("against your TSA roots: {error}"),
    ReasonCode.TOKEN_NO_TRUSTED_ROOT: N_(
        "you trust no TSA root (evidence trust add tsa, or --trust-roots)"
    ),
    ReasonCode.START_NOT_A_TIME: N_("capture.started_at {value} is not a time"),
    ReasonCode.START_NO_ZONE: N_(
        "capture.started_at {value} has no time zone: it cannot be ordered"
    ),
    ReasonCode.START_BEFORE: N_("capture started {started} before genTime {gen_time}"),
    ReasonCode.START_AFTER: N_(
        "capture.started_at {started} is after the token's genTime {gen_time}"
    ),
    ReasonCode.LEAF_NOT_MANIFEST: N_(
        "the anchored leaf {leaf} is not the manifest digest {sha256}"
    ),
    ReasonCode.PROOF_MALFORMED: N_("the Merkle proof is malformed: {error}"),
    ReasonCode.PATH_WRONG_ROOT: N_(
        "the Merkle path from the manifest digest leads to {computed}, not to the anchored root "
        "{root}"
    ),
    ReasonCode.PATH_HOLDS: N_("the manifest digest is leaf {index} of {size} under root {root}"),
    ReasonCode.ANCHOR_ABSENT: N_("the bundle has no anchor record (the item was not anchored yet)"),
    ReasonCode.CHAIN_ID_DIFFERS: N_(
        "recorded chain id {chain_id} differs from the trusted chain id {pinned}"
    ),
    ReasonCode.CHAIN_NOT_TRUSTED: N_(
        "chain id {chain_id} is not a chain you trust; the bundle names contract {contract} at "
        "{url} — compare out of band, then evidence trust add chain (or "
        "--chain-id/--registry/--rpc-url)"
    ),
    ReasonCode.CHAIN_TRUSTED: N_("recorded chain id {chain_id} is a chain you trust ({names})"),
    ReasonCode.REGISTRY_BUNDLE_WORD: N_(
        "anchored in {contract} by the bundle's word: you trust no registry on chain {chain_id} "
        "(evidence trust add chain, or --registry)"
    ),
    ReasonCode.REGISTRY_MISMATCH: N_(
        "contract mismatch: the root was anchored in {contract}, not our contract, the trusted "
        "registry {registry}"
    ),
    ReasonCode.REGISTRY_TRUSTED: N_("anchored in the trusted registry {registry} ({source})"),
    ReasonCode.BLOCK_BEFORE_TOKEN: N_(
        "{where} {time} is before the token's genTime {gen_time}: a root cannot be anchored "
        "before it was timestamped"
    ),
    ReasonCode.BLOCK_TOO_LATE: N_(
        "{where} {time} is {skew} s after genTime {gen_time}, more than the tolerance of "
        "{tolerance} s"
    ),
    ReasonCode.BLOCK_IN_TIME: N_(
        "{where} {time} is {skew} s after genTime (tolerance {tolerance} s)"
    ),
    ReasonCode.CHAIN_OFFLINE: N_("offline mode: the chain was not queried"),
    ReasonCode.NO_TRUSTED_ENDPOINT: N_(
        "no RPC endpoint you trust serves chain {chain_id}; the endpoint the bundle names ({url}) "
        "is never asked, its word is not trust"
    ),
    ReasonCode.ENDPOINT_UNREACHABLE: N_("{endpoint}: {error}"),
    ReasonCode.CHAIN_ERROR: N_("{error} (asked {endpoint})"),
    ReasonCode.RECORD_DIFFERS: N_("recorded {fields} differ from the chain at {endpoint}"),
    ReasonCode.ANCHOR_FOUND: N_(
        "transaction {tx} in block {block} on chain {chain_id} carries the root in registry "
        "{registry}, anchored by {submitter}; {confirmations} confirmation(s); asked {endpoint}"
    ),
    ReasonCode.ANCHOR_FOUND_DEVELOPMENT: N_(
        "transaction {tx} in block {block} on chain {chain_id} carries the root in registry "
        "{registry}, anchored by {submitter}; {confirmations} confirmation(s); asked {endpoint} "
        "— a DEVELOPMENT chain, as your trust configuration says"
    ),
    ReasonCode.REGISTRY_NOT_YOURS: N_("that registry is the bundle's word, not one you trust"),
    ReasonCode.CUSTODY_ABSENT: N_("no custody-log extract in bundle"),
    ReasonCode.CUSTODY_LINKED: N_(
        "{n} events: every event_hash recomputed, every prev_hash and seq linked"
    ),
    ReasonCode.CUSTODY_ABSENT_ANCHORED: N_(
        "no custody-log extract in bundle, although {anchor} anchors custody event seq {seq}"
    ),
    ReasonCode.CUSTODY_OWN_CHAIN: N_("the extract's own chain does not hold ({check}): {error}"),
    ReasonCode.CUSTODY_HEAD_NO_PROOF: N_(
        "the anchor record carries no proof for the custody log's head (a bundle written "
        "before these proofs were exported, or a batch whose tree could not be rebuilt): the "
        "custody extract is checked only against itself"
    ),
    ReasonCode.CUSTODY_HEAD_NOT_LAST: N_(
        "the custody head is recorded as leaf {index}, but every batch puts it last: leaf "
        "{last} of the anchored tree of {size}"
    ),
    ReasonCode.CUSTODY_PROOF_MALFORMED: N_("the custody head's Merkle proof is malformed: {error}"),
    ReasonCode.CUSTODY_PATH_WRONG_ROOT: N_(
        "the Merkle path from the custody head {head} leads to {computed}, not to the "
        "anchored root {root}"
    ),
    ReasonCode.CUSTODY_HEAD_MISSING: N_(
        "the extract (seq {first} to {last}) has no event seq {seq}, the custody head "
        "anchored with this item ({anchor})"
    ),
    ReasonCode.CUSTODY_HEAD_REWRITTEN: N_(
        "event seq {seq} has event_hash {found}, but the anchored custody head is {head} "
        "({anchor}): the extract is not the log that was anchored (events rewritten and the "
        "chain rehashed)"
    ),
    ReasonCode.CUSTODY_NO_SEAL: N_("the extract holds no seal event of item {item}"),
    ReasonCode.CUSTODY_SEAL_OTHER_MANIFEST: N_(
        "the seal event seq {seq} names manifest {named}, not this bundle's {sha256}"
    ),
    ReasonCode.CUSTODY_ITEM_AFTER_HEAD: N_(
        "the item's {named} come after the anchored custody head seq {seq}, although an item "
        "is anchored only after it is sealed and timestamped"
    ),
    ReasonCode.CUSTODY_HEAD_ANCHORED: N_(
        "event seq {seq} is the custody head anchored as leaf {index} of {size} under root {root}"
    ),
    ReasonCode.CUSTODY_LATER_EVENTS: N_("{n} later event(s) not yet anchored (after seq {seq})"),
    ReasonCode.CUSTODY_THROUGH_REDACTED: N_(
        "but the item's events reach it only through redacted event(s) seq {seqs}, whose "
        "links an extract cannot prove: events before seq {last} are not fixed by the anchor"
    ),
    ReasonCode.CUSTODY_BOUND: N_(
        "every event from seq {first} to it, the item's seal and timestamp among them, is "
        "bound to that leaf"
    ),
    ReasonCode.WARC_ABSENT: N_("the bundle holds no WARC"),
    ReasonCode.WARC_STRETCHES: N_("{n} stretch(es) of data that are not WARC records"),
    ReasonCode.WARC_UNSIGNED: N_(
        "{n} record(s) carry no sha256: WARC-Block-Digest (first {first})"
    ),
    ReasonCode.WARC_EMPTY: N_("the WARC holds no records"),
    ReasonCode.WARC_MATCHES: N_(
        "{n} records: every sha256 block and payload digest recomputed and matching"
    ),
    ReasonCode.WARC_RECORD_DIGEST: N_("record for {target} at offset {offset}: {problems}"),
    ReasonCode.WARC_RECORD_TRUNCATED: N_(
        "record for {target}: its digests could not be recomputed (the record is truncated)"
    ),
    ReasonCode.WARC_UNREADABLE: N_("not a readable WARC after {n} record(s): {error}"),
    ReasonCode.REPLAY_NO_BROWSER: N_("replay of {warc}: {error}"),
    ReasonCode.REPLAY_FAILED: N_("replay of {url} from {warc}: {error}"),
    ReasonCode.REPLAY_COMPARED: N_(
        "replaying {warc} offline at {width}×{height} and comparing with {screenshot}: "
        "similarity {similarity} (threshold {threshold}){note} [{fences}]"
    ),
    ReasonCode.REPLAY_TILES: N_(
        "the page ({height} px tall) was kept as {n} screenshot tiles, not stitched: the "
        "replay is compared only with a single full-page screenshot"
    ),
    ReasonCode.REPLAY_NOTHING: N_("the manifest lists no screenshot or no WARC to compare"),
    ReasonCode.REPLAY_DISABLED: N_("replay disabled (--no-replay)"),
    ReasonCode.REPLAY_MISSING: N_("{screenshot} or {warc} is missing or unreadable"),
    ReasonCode.REPLAY_VIEWPORT: N_("capture.viewport is unusable: {error}"),
    ReasonCode.CHECK_CRASHED: N_(
        "the check stopped on an unexpected error ({error}); the bundle is not verified by it"
    ),
    ReasonCode.NEEDS_FAILED: N_("needs {fact}: {subject} failed ({check})"),
    ReasonCode.NEEDS_UNTRUSTED: N_(
        "needs {fact}: {subject} rests only on the bundle's own word ({check})"
    ),
    ReasonCode.NEEDS_NOT_CHECKED: N_("needs {fact}: {subject} was not checked ({check})"),
    ReasonCode.NEEDS_NOT_ESTABLISHED: N_("needs {fact}, which {check} could not establish"),
    ReasonCode.NEEDS_NOBODY: N_("needs {fact}, which no check established"),
    ReasonCode.INDEX_BOUND: N_(
        "every file is bound: {n} match their SHA-256, SM3 and size in {index} (which "
        "index.signature checks), the rest are sealed by the manifest"
    ),
    ReasonCode.INDEX_SIGNED_NO_ROOTS: N_(
        "signature over {index} is intact, by {who}, but no signer roots were given: compare "
        "the certificate SHA-256 with the agency's record"
    ),
    ReasonCode.INDEX_SIGNED_UNTRUSTED: N_(
        "signature over {index} is intact, by {who}, but the certificate does not chain to "
        "the signer roots given"
    ),
    ReasonCode.INDEX_SIGNED: N_(
        "valid signature over {index} by {who}, signed {time}, certificate chains to the "
        "given signer roots"
    ),
    ReasonCode.INDEX_NO_TOKEN: N_(
        "the bundle index has no time-stamp token (no TSA answered at export)"
    ),
    ReasonCode.INDEX_TOKEN: N_(
        "signed by {tsa} at {time} over {signature}, chain verified against {root}"
    ),
    ReasonCode.INDEX_TOKEN_FAILED: N_(
        "{error} (token over {signature}, whose SHA-256 is {sha256}; checked against {root})"
    ),
    ReasonCode.INDEX_ABSENT: N_(
        "the bundle has no signed index ({index}); index.member judges every file alone"
    ),
    ReasonCode.INDEX_SIZE_DIFFERS: N_("size {got} differs from the index's {expected}"),
    ReasonCode.INDEX_SHA256_DIFFERS: N_("SHA-256 {got} differs from the index's {expected}"),
    ReasonCode.INDEX_SM3_DIFFERS: N_("SM3 {got} differs from the index's {expected}"),
    ReasonCode.INDEX_CHANGED: N_("changed since the bundle index was signed"),
    ReasonCode.INDEX_UNREADABLE: N_(
        "unreadable or too large (reported above): nothing binds the files outside the manifest"
    ),
    ReasonCode.INDEX_UNBOUND_UNLISTED: N_("unbound file: not listed in {index}"),
    ReasonCode.INDEX_UNBOUND: N_(
        "unbound file: neither sealed in the manifest nor listed in a signed bundle index"
    ),
}
TEMPLATES.update({ReasonCode(code): text for code, text in DOCUMENT_TEMPLATES.items()})
