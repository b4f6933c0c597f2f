"""The name of every check, as printed, stored in JSON and shown in the verification report.

The values are part of the toolkit's interface (experts grep for them, the
manual procedure maps its steps onto them): change a value only with the docs.
"""

from __future__ import annotations

import enum


class CheckId(enum.StrEnum):
    # reading the bundle
    BUNDLE_READ = "bundle.read"
    BUNDLE_SIZE = "bundle.size"
    # the manifest, the checksum listings and the artifacts they cover
    MANIFEST = "manifest"
    MANIFEST_FORMAT = "manifest.format"
    CHECKSUMS_SHA256 = "checksums.sha256"
    CHECKSUMS_SM3 = "checksums.sm3"
    ARTIFACT_PRESENT = "artifact.present"
    ARTIFACT_READ = "artifact.read"
    ARTIFACT_DIGEST = "artifact.digest"
    ARTIFACT_EXTRA = "artifact.extra"
    # officers' signatures over the manifest
    MANIFEST_SIGNATURE = "manifest.signature"
    # signers.txt against the certificates inside the signatures it lists
    SIGNERS_LIST = "signers.list"
    # the exporting officer's signed index of every file
    INDEX_MEMBER = "index.member"
    INDEX_SIGNATURE = "index.signature"
    INDEX_TIMESTAMP = "index.timestamp"
    # the RFC 3161 time-stamp
    TIMESTAMP_TOKEN = "timestamp.token"
    TIMESTAMP_DETAILS = "timestamp.details"
    TIME_ORDER = "time.order"
    # the blockchain anchor
    ANCHOR = "anchor"
    ANCHOR_RECORD = "anchor.record"
    ANCHOR_LEAF = "anchor.leaf"
    ANCHOR_MERKLE = "anchor.merkle"
    ANCHOR_REGISTRY = "anchor.registry"
    ANCHOR_CHAIN_ID = "anchor.chain_id"
    TIME_ANCHOR = "time.anchor"
    ANCHOR_CHAIN = "anchor.chain"
    # the artifacts' own content
    WARC_RECORD = "warc.record"
    CUSTODY_CHAIN = "custody.chain"
    CUSTODY_ANCHOR = "custody.anchor"
    REPORT_FORMAT = "report.format"
    REPORT_IDENTITY = "report.identity"
    REPORT_CONTENT = "report.content"
    REPORT_SIGNATURE = "report.signature"
    SCREENSHOT_REPLAY = "screenshot.replay"
    VIDEO_FRAMES = "video.frames"
    # a WACZ and the evidence bundle it carries
    WACZ_DATAPACKAGE = "wacz.datapackage"
    WACZ_DIGEST = "wacz.digest"
    WACZ_SIGNATURE = "wacz.signature"
    EVIDENCE_BUNDLE = "evidence.bundle"
    WACZ_WARC = "wacz.warc"
    WACZ_MANIFEST_LINK = "wacz.manifest_link"
