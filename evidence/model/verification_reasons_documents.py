"""English templates of the reasons the signature, report PDF, video and WACZ checks give.

Kept apart from :mod:`evidence.model.verification_reasons` only for that module's
size; it merges them into its ``TEMPLATES``. Keys are the :class:`ReasonCode`
values (this module cannot import the enum without an import cycle). The English
is what these checks have always written; ``{error}`` and ``{damage}`` carry a
library's or a lower layer's words unchanged.
"""

from __future__ import annotations

from evidence.model.i18n import N_

SIGNATURE_TEMPLATES: dict[str, str] = {
    "signature.none": N_("no signatures in bundle"),
    "signature.unreadable": N_("unreadable signature ({kind}: {error})"),
    "signature.untrusted": N_(
        "signature over {manifest} is intact, by {who}, but that certificate does not chain "
        "to a signer root you trust (evidence trust add signer, or --signer-roots)"
    ),
    "signature.valid": N_(
        "valid signature over {manifest} by {who}, certificate chains to a signer root you trust"
    ),
    "signers.absent": N_("the bundle has no signers.txt, so there is no list of signers to check"),
    "signers.match": N_(
        "{signers} names the certificate inside each of the bundle's {n} signatures, with its "
        "fingerprint and issuer"
    ),
    "signers.unlisted": N_(
        "{location} is signed with the certificate SHA-256 {fingerprint}, but {signers} does "
        "not list that signature"
    ),
    "signers.fingerprint_differs": N_(
        "{signers} lists {location} with the fingerprint {listed}, but the certificate inside "
        "that signature has {actual}"
    ),
    "signers.issuer_differs": N_(
        "{signers} lists {location} with the issuer {listed}, but the certificate inside that "
        "signature has the issuer {actual}"
    ),
    "signers.no_signature": N_(
        "{signers} lists a signature at {location}, which the bundle does not carry"
    ),
}

REPORT_TEMPLATES: dict[str, str] = {
    "report.absent": N_("the bundle has no report PDF"),
    "report.unread": N_("the report could not be read"),
    "report.not_pdf": N_("not a complete PDF file (no %PDF- header or no %%EOF marker)"),
    "report.encrypted": N_("encrypted with a password, so it cannot be read ({error})"),
    "report.unparsable": N_("does not parse as a PDF ({error})"),
    "report.unreadable_through": N_("cannot be read through ({error})"),
    "report.encrypted_for": N_(
        "the report encrypted with a password, so it cannot be read ({error}) ({check})"
    ),
    "report.unparsable_for": N_("the report does not parse as a PDF ({error}) ({check})"),
    "report.unreadable_through_for": N_("the report cannot be read through ({error}) ({check})"),
    "report.damaged": N_("damaged: {damage}"),
    "report.damaged_more": N_("damaged: {damage} (and {n} more)"),
    "report.parses_pdfa": N_(
        "a PDF {version} of {pages} page(s) that parses, declares PDF/A-{part}{conformance}"
    ),
    "report.parses": N_("a PDF {version} of {pages} page(s) that parses, declares no PDF/A part"),
    "report.signed": N_("{n} PAdES signature value(s), judged below"),
    "report.unsigned": N_("not signed"),
    "report.active": N_("the report carries what an evidence report never does: {found}"),
    "report.inert": N_(
        "no JavaScript, no actions on opening or on events (/OpenAction, /AA), no launch "
        "or submit actions, no embedded files, not encrypted"
    ),
    "report.xmp_unreadable": N_("its XMP: {error}"),
    "report.other_item": N_(
        "{report} is the report of another item (its XMP names item {claimed_item}, manifest "
        "SHA-256 {claimed_sha256}); this bundle holds item {item}, manifest SHA-256 {sha256}"
    ),
    "report.xmp_names_text_unread": N_(
        "its XMP names item {item}, manifest SHA-256 {sha256}; its text was not read ({note})"
    ),
    "report.nothing_names_text_unread": N_(
        "its XMP names no item (a report made before reports named theirs) and its text was "
        "not read ({note})"
    ),
    "report.text_lacks": N_(
        "{report} is not this bundle's report: its XMP names this item, but its text does not "
        "show this bundle's {missing} (item {item}, manifest SHA-256 {sha256})"
    ),
    "report.nothing_shows": N_(
        "{report} is not this bundle's report: its XMP names no item and its text does not "
        "show this bundle's {missing} (item {item}, manifest SHA-256 {sha256})"
    ),
    "report.xmp_and_text_name": N_(
        "its XMP names and its text shows item {item}, manifest SHA-256 {sha256}"
    ),
    "report.text_names": N_(
        "its text shows (its XMP names no item: a report made before reports named theirs) "
        "item {item}, manifest SHA-256 {sha256}"
    ),
    "report.outside_form": N_(
        "{values} signature value(s) in the file, but {held} held by signature fields: a "
        "signature outside the form cannot be judged"
    ),
    "report.signature_valid": N_("valid PAdES signature by {who}"),
    "report.signature_intact": N_("intact signature by {who}"),
    "report.covers_whole_file": N_("it covers the whole file"),
    "report.later_signatures_only": N_("it is followed only by later signatures"),
    "report.signer_trusted": N_("the certificate chains to a signer root you trust"),
    "report.signer_not_established": N_("the signer is not established against your signer roots"),
    "report.signer_no_roots": N_(
        "the signer is not established against your signer roots (evidence trust add signer, "
        "or --signer-roots)"
    ),
    "report.no_token": N_(
        "it carries no RFC 3161 time-stamp: when it was made rests only on the signer's word"
    ),
    "report.no_token_clock": N_(
        "it carries no RFC 3161 time-stamp: when it was made rests only on the signer's word "
        "(its own clock says {time})"
    ),
    "report.token_trusted": N_(
        "its RFC 3161 time-stamp (genTime {time}) is from a TSA root you trust"
    ),
    "report.token_untrusted": N_(
        "its RFC 3161 time-stamp (genTime {time}) is intact, but its TSA does not chain to a "
        "TSA root you trust: the signing time rests on the bundle alone"
    ),
    "report.token_no_roots": N_(
        "its RFC 3161 time-stamp (genTime {time}) is intact, but its TSA does not chain to a "
        "TSA root you trust (evidence trust add tsa, or --trust-roots): the signing time rests "
        "on the bundle alone"
    ),
    "report.signature_broken": N_(
        "the signature by {who} does not verify: the signed bytes were changed or the "
        "signature is broken ({summary})"
    ),
    "report.changed_after": N_(
        "the signature by {who} is intact, but the file was changed after it beyond adding "
        "signatures (pyHanko: {level})"
    ),
    "report.token_broken": N_(
        "the signature by {who} is intact, but its RFC 3161 time-stamp (genTime {time}) does "
        "not verify over the signature value"
    ),
}

VIDEO_TEMPLATES: dict[str, str] = {
    "video.missing": N_("the video or its frame list is missing"),
    "video.unread": N_("{error}; the file itself is covered by artifact.digest"),
    "video.frames_match": N_(
        "{n} frames copied out with ffmpeg: each JPEG's SHA-256 and time match {listing}"
    ),
    "video.frame_count_differs": N_("{got} frames in the video, {listed} listed in {listing}"),
    "video.frame_sha256_differs": N_(
        "frame {n} (at {offset} s): its SHA-256 differs from {listing}"
    ),
    "video.frame_time_differs": N_("frame {n} (at {offset} s): its time differs from {listing}"),
    "video.frame_list_unreadable": N_("unreadable frame list ({error})"),
    "video.no_span": N_("the manifest states no video span"),
    "video.span_unreadable": N_("unreadable video span ({error})"),
    "video.span_differs": N_(
        "the manifest's video span differs from the frames listed in {listing}"
    ),
    "video.span_outside": N_(
        "frames painted outside the capture's span (started_at to finished_at)"
    ),
    "video.span": N_(
        "frames painted from {first} to {last} ({seconds} s) within the capture's {whole} s; "
        "not in the video: {before} s from the capture's start to the first frame and {after} s "
        "from the last frame to the capture's end"
    ),
    "video.covers": N_(
        "the video covers the capture but for {before} s at its start (browser launch, first "
        "paint) and {after} s at its end (traffic and WARC written), each within {limit} s"
    ),
    "video.gap_start": N_(
        "WARNING: the video does not show {before} s at the capture's start (more than "
        "{limit} s); what happened then is not in the video"
    ),
    "video.gap_end": N_(
        "WARNING: the video does not show {after} s at the capture's end (more than "
        "{limit} s); what happened then is not in the video"
    ),
    "video.gap_both": N_(
        "WARNING: the video does not show {before} s at the capture's start and {after} s at "
        "the capture's end (more than {limit} s); what happened then is not in the video"
    ),
    "video.copy_not_exhibit": N_(
        "the manifest describes an annotated copy that is not among the exhibits"
    ),
    "video.copy_not_described": N_(
        "the annotated copy is not described in the manifest (video_annotated)"
    ),
    "video.copy_other_name": N_("the annotated copy is stated to derive from {name}"),
    "video.copy_other_source": N_(
        "the annotated copy was made from a video with SHA-256 {stated}, not from {video} "
        "({sha256})"
    ),
    "video.copy_count_stated": N_(
        "the manifest gives the annotated copy {stated} frames; the original has {listed}"
    ),
    "video.copy_unread": N_("{error}; its digests are checked"),
    "video.copy_count_differs": N_("{counted} frames in the annotated copy, {listed} in {video}"),
    "video.copy_derived": N_(
        "a copy for viewing derived from {video} (SHA-256 {sha256}…), {counted} frames as in "
        "the original, with the page address and each frame's time burnt in; the original is "
        "the evidence"
    ),
}

WACZ_TEMPLATES: dict[str, str] = {
    "wacz.unlisted": N_("file in the WACZ that {datapackage} does not list"),
    "wacz.resources_match": N_("{n} resources: every SHA-256 and size matches {datapackage}"),
    "wacz.no_path": N_("resources[{n}] has no path"),
    "wacz.listed_twice": N_("listed twice in {datapackage}"),
    "wacz.listed_missing": N_("listed in {datapackage} but missing from the WACZ"),
    "wacz.hash_not_sha256": N_("its hash {declared} in {datapackage} is not a sha256: digest"),
    "wacz.sha256_differs": N_("SHA-256 {got} differs from {datapackage}'s {expected}"),
    "wacz.size_differs": N_("size {got} differs from {datapackage}'s {expected}"),
    "wacz.no_digest": N_("the WACZ has no {digest}"),
    "wacz.digest_other_path": N_("does not name {datapackage} as its path"),
    "wacz.digest_differs": N_(
        "hash {declared} is not the SHA-256 of {datapackage} (sha256:{sha256}): one of the "
        "two was altered"
    ),
    "wacz.digest_matches": N_("matches {datapackage}, SHA-256 {sha256}"),
    "wacz.signature_unchecked": N_(
        "the WACZ's own signedData (WACZ auth) is not checked by this verifier"
    ),
    "wacz.no_warc": N_("the WACZ holds no WARC"),
    "wacz.no_evidence": N_(
        "this WACZ carries no evidence bundle ({bundle}): only its own hashes and WARC records "
        "could be checked; verify the item's evidence bundle instead"
    ),
    "wacz.no_evidence_claim": N_(
        "this WACZ carries no evidence bundle ({bundle}): only its own hashes and WARC records "
        "could be checked; verify the item's evidence bundle instead ({datapackage} names "
        "manifest SHA-256 {claim})"
    ),
    "wacz.warc_no_copy": N_("the sealed {warc} has no copy in the WACZ"),
    "wacz.warc_differs": N_(
        "not byte-identical to the sealed {warc}: SHA-256 {sha256}, {size} bytes; the "
        "manifest says {expected_sha256}, {expected_size} bytes"
    ),
    "wacz.warc_identical": N_(
        "byte-identical to the sealed {warc} ({size} bytes, SHA-256 and SM3 match the manifest)"
    ),
    "wacz.warc_unsealed": N_("a WARC that the sealed manifest does not list"),
    "wacz.manifest_unnamed": N_(
        "{datapackage} does not name the manifest it carries; the bundled one has SHA-256 {bundled}"
    ),
    "wacz.manifest_linked": N_("{claim} is the SHA-256 of the bundled manifest.json ({bundled})"),
    "wacz.manifest_not_linked": N_(
        "{claim} is not the SHA-256 of the bundled manifest.json ({bundled})"
    ),
}

DOCUMENT_TEMPLATES: dict[str, str] = {
    **SIGNATURE_TEMPLATES,
    **REPORT_TEMPLATES,
    **VIDEO_TEMPLATES,
    **WACZ_TEMPLATES,
}
