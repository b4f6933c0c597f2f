"""The bundle verifier: every check named, every failure pointing at a file.

Each check yields a :class:`CheckResult` with PASS, FAIL or NOT CHECKED and
the file or field it concerns; nothing is skipped silently. A bundle is read
either as the zip that ``evidence export`` writes or as its unpacked folder
(what an expert gets after ``unzip``). Files are hashed as they stream, never
extracted to disk.

A WACZ (``evidence export --format wacz``, zipped or unpacked) is recognised
by its ``datapackage.json``: its resource hashes, its ``datapackage-digest.json``
and every WARC's records are checked, and the evidence bundle it carries
(``evidence/bundle.zip``) gets every bundle check, plus a check that each WARC
in ``archive/`` is byte-identical to the sealed one. That nested bundle is the
only thing ever copied out, into a private temporary directory.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import re
import stat
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from cryptography import x509
from PIL import Image, ImageChops, ImageStat
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from anchoring.chain import ChainUnreachableError, check_anchor
from anchoring.tsa import verify_timestamp
from capture import read_video_frames
from capture.replay import replay_screenshot
from evidence.model.errors import (
    AnchorError,
    BundleError,
    CaptureError,
    EvidenceError,
    TimestampError,
)
from evidence.model.hashing import CHUNK_SIZE, Digests, DualHasher, digest_bytes
from evidence.model.manifest import Manifest, canonical_json, parse_manifest
from evidence.model.merkle import InclusionProof, root_from_proof
from evidence.model.records import (
    AnchorReceipt,
    CaptureOptions,
    CheckResult,
    Verdict,
    VerificationReport,
)
from reports.bundle import layout as bf

logger = logging.getLogger(__name__)

SIGNATURE_DIR = "signatures/"
CUSTODY_LOG = "custody/custody-log.jsonl"
COMPARE_WIDTH = 256
MAX_COMPARE_PIXELS = 120_000_000
"""Decoding a taller screenshot would need more than about 500 MB; such a one is not compared."""
_CLOCK_SKEW_S = 300
"""Block producers' clocks may run a few minutes ahead of the TSA's."""
_HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_SMALL_FILE = 64 * 1024 * 1024
"""Metadata files (manifest, token, JSON) are read into memory; cap them."""
WACZ_DATAPACKAGE = "datapackage.json"
WACZ_DIGEST = "datapackage-digest.json"
WACZ_ARCHIVE = "archive/"
WACZ_EVIDENCE = "evidence/bundle.zip"
"""Where ``reports.bundle.wacz`` puts the item's evidence bundle (``EVIDENCE_BUNDLE``)."""
_EVIDENCE_CHECKS = (
    "manifest",
    "artifact.digest",
    "wacz.warc",
    "manifest.signature",
    "timestamp.token",
    "anchor",
    "custody.chain",
)
"""What a WACZ without our evidence bundle leaves unchecked, each reported as such."""


@dataclass(frozen=True, slots=True)
class BundleLimits:
    """Bounds that keep a hostile bundle from exhausting disk, memory or time."""

    max_members: int = 10_000
    max_total_bytes: int = 64 * 1024**3
    """Sum of the uncompressed sizes of all files: zip bombs and sparse giants stop here."""
    max_ratio: float = 100.0
    """Largest uncompressed/compressed ratio for one zip member above ``ratio_floor`` bytes."""
    ratio_floor: int = 1024 * 1024


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """What the expert trusts and how far the verifier may go."""

    rpc_url: str | None = None
    """Query this endpoint instead of the one recorded in the bundle."""
    trust_roots_pem: bytes | None = None
    """TSA roots the expert trusts; without them the root shipped in the bundle is used."""
    signer_roots_pem: bytes | None = None
    """Roots for the officers' signing certificates (manifest CMS signatures)."""
    offline: bool = False
    min_confirmations: int = 1
    registry: str | None = None
    """The registry contract address the expert trusts; the recorded one must equal it."""
    chain_id: int | None = None
    """The chain id the expert trusts; the recorded one must equal it."""
    block_time_tolerance_s: int = 2 * 3600
    replay: bool = True
    replay_threshold: float = 0.97
    limits: BundleLimits = field(default_factory=BundleLimits)


@dataclass(frozen=True, slots=True)
class VerificationRun:
    """A report plus what it was checked against (for the verification report PDF)."""

    report: VerificationReport
    context: tuple[tuple[str, str], ...]


class _Source(Protocol):
    def names(self) -> list[str]: ...
    def open(self, name: str) -> IO[bytes]: ...
    def close(self) -> None: ...


class _ZipSource:
    def __init__(self, path: Path, limits: BundleLimits) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise BundleError(f"{path}: not a readable zip bundle ({exc})") from exc
        try:
            self._check(path, limits)
        except BaseException:
            self._zip.close()
            raise

    def _check(self, path: Path, limits: BundleLimits) -> None:
        infos = self._zip.infolist()
        if len(infos) > limits.max_members:
            raise BundleError(f"{path}: {len(infos)} entries, more than a bundle may hold")
        seen: set[str] = set()
        total = 0
        for info in infos:
            _check_member_name(info.filename)
            if info.filename in seen:
                raise BundleError(f"{path}: duplicate entry {info.filename!r}")
            seen.add(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise BundleError(f"{path}: entry {info.filename!r} is a symbolic link")
            # zipfile never yields more than the declared size, so the declared
            # sizes bound what streaming can produce.
            total += info.file_size
            if total > limits.max_total_bytes:
                raise BundleError(
                    f"{path}: more than {limits.max_total_bytes} bytes uncompressed "
                    "(size limit; possible zip bomb)"
                )
            if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(
                info.compress_size, 1
            ):
                raise BundleError(
                    f"{path}: entry {info.filename!r} expands {info.compress_size} bytes to "
                    f"{info.file_size} (ratio limit {limits.max_ratio:g}; possible zip bomb)"
                )
        self._names = [i.filename for i in infos if not i.is_dir()]

    def names(self) -> list[str]:
        return list(self._names)

    def open(self, name: str) -> IO[bytes]:
        return self._zip.open(name)

    def close(self) -> None:
        self._zip.close()


class _DirSource:
    def __init__(self, root: Path, limits: BundleLimits) -> None:
        self._root = root
        names: list[str] = []
        total = 0
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                raise BundleError(
                    f"{root}: {rel} is a symbolic link; bundles hold plain files only"
                )
            if path.is_file():
                names.append(rel)
                total += path.stat().st_size
                if total > limits.max_total_bytes:
                    raise BundleError(
                        f"{root}: {rel} brings the bundle over {limits.max_total_bytes} bytes "
                        "(size limit)"
                    )
            if len(names) > limits.max_members:
                raise BundleError(f"{root}: more files than a bundle may hold")
        self._names = names

    def names(self) -> list[str]:
        return list(self._names)

    def open(self, name: str) -> IO[bytes]:
        # O_NOFOLLOW: a file swapped for a symlink after listing must not be followed.
        fd = os.open(self._root / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        return os.fdopen(fd, "rb")

    def close(self) -> None:
        return None


def _check_member_name(name: str) -> None:
    pure = PurePosixPath(name)
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or ":" in name
        or ".." in pure.parts
        or any(ord(c) < 32 for c in name)
        or "//" in name
        or "." in name.split("/")
    ):
        raise BundleError(f"bundle entry {name!r} has an unsafe path")


def open_bundle(path: Path, limits: BundleLimits | None = None) -> _Source:
    limits = limits or BundleLimits()
    if path.is_symlink():
        raise BundleError(f"{path}: the bundle itself is a symbolic link; give the real path")
    if path.is_dir():
        return _DirSource(path, limits)
    if not path.exists():
        raise BundleError(f"{path}: no such bundle")
    return _ZipSource(path, limits)


def verify_bundle(
    path: Path,
    *,
    rpc_url: str | None = None,
    trust_roots_pem: bytes | None = None,
    offline: bool = False,
    min_confirmations: int = 1,
    options: VerifyOptions | None = None,
) -> VerificationReport:
    """Run every check on a bundle (zip or unpacked folder).

    ``trust_roots_pem`` replaces the TSA root shipped in the bundle (an expert
    should pass the roots they trust); ``rpc_url`` replaces the endpoint
    recorded in the anchor; ``offline`` skips the chain, which is then
    reported as NOT CHECKED. ``options``, when given, replaces all of these.
    Raises :class:`BundleError` only when the bundle cannot be read at all.
    """
    if options is None:
        options = VerifyOptions(
            rpc_url=rpc_url,
            trust_roots_pem=trust_roots_pem,
            offline=offline,
            min_confirmations=min_confirmations,
        )
    return run_verification(path, options).report


def is_wacz(names: list[str]) -> bool:
    """A WACZ has a ``datapackage.json`` at its root; our bundles have ``manifest.json``."""
    return WACZ_DATAPACKAGE in names and bf.MANIFEST not in names


def run_verification(path: Path, options: VerifyOptions) -> VerificationRun:
    """:func:`verify_bundle` plus the roots, endpoint and limits the checks used."""
    source = open_bundle(path, options.limits)
    try:
        kind = _WaczVerifier if is_wacz(source.names()) else _Verifier
        verifier = kind(source, str(path), options)
        report = verifier.run()
        return VerificationRun(report, tuple(verifier.context.items()))
    finally:
        source.close()


class _Verifier:
    def __init__(self, source: _Source, label: str, options: VerifyOptions) -> None:
        self.source = source
        self.label = label
        self.options = options
        self.names = set(source.names())
        self.checks: list[CheckResult] = []
        self.digests: dict[str, Digests | None] = {}
        self.gen_time: datetime | None = None
        self.manifest: Manifest | None = None
        self.context: dict[str, str] = {
            "offline": "yes" if options.offline else "no",
            "min_confirmations": str(options.min_confirmations),
            "block_time_tolerance_s": str(options.block_time_tolerance_s),
            "replay": "yes" if options.replay else "no",
            "replay_threshold": f"{options.replay_threshold:g}",
        }

    def add(self, check: str, subject: str, verdict: Verdict, detail: str) -> None:
        self.checks.append(CheckResult(check, subject, verdict, detail))

    def run(self) -> VerificationReport:
        self._hash_all()
        manifest_bytes = self._small(bf.MANIFEST)
        manifest: Manifest | None = None
        manifest_sha256: str | None = None
        if manifest_bytes is None:
            if bf.MANIFEST not in self.names:
                self.add("manifest", bf.MANIFEST, Verdict.FAIL, "missing from the bundle")
        else:
            manifest_sha256 = digest_bytes(manifest_bytes).sha256
            try:
                manifest = parse_manifest(manifest_bytes)
                self.add(
                    "manifest.format",
                    bf.MANIFEST,
                    Verdict.PASS,
                    f"canonical manifest, SHA-256 {manifest_sha256}",
                )
            except BundleError as exc:
                self.add("manifest.format", bf.MANIFEST, Verdict.FAIL, exc.message)
        self._check_checksums()
        if manifest is not None:
            self._check_artifacts(manifest)
        if manifest_bytes is not None:
            self._check_signatures(manifest_bytes)
            self._check_timestamp(manifest_bytes, manifest)
            self._check_anchor(manifest_bytes)
        self._check_warc_records(manifest)
        self._check_custody()
        self._check_report_pdf()
        if manifest is not None:
            self._check_replay(manifest)
            self._check_video(manifest)
        self.manifest = manifest
        return VerificationReport(self.label, manifest_sha256, tuple(self.checks))

    # -- reading ----------------------------------------------------------

    def _hash_all(self) -> None:
        for name in sorted(self.names):
            try:
                with self.source.open(name) as stream:
                    hasher = DualHasher()
                    for chunk in _read_chunks(stream):
                        hasher.update(chunk)
                self.digests[name] = hasher.finalize()
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                # A CRC mismatch surfaces here: the zip itself says the member changed.
                self.digests[name] = None
                self.add("bundle.read", name, Verdict.FAIL, f"unreadable or corrupted: {exc}")

    def _small(self, name: str) -> bytes | None:
        if name not in self.names or self.digests.get(name) is None:
            return None
        digests = self.digests[name]
        assert digests is not None
        if digests.size > MAX_SMALL_FILE:
            self.add("bundle.size", name, Verdict.FAIL, f"{digests.size} bytes is too large")
            return None
        with self.source.open(name) as stream:
            data = stream.read(MAX_SMALL_FILE + 1)
        # Guard against a file swapped between the hashing pass and this read.
        if digest_bytes(data).sha256 != digests.sha256:
            self.add("bundle.read", name, Verdict.FAIL, "content changed while being read")
            return None
        return data

    # -- checks -----------------------------------------------------------

    def _check_checksums(self) -> None:
        for listing, algo in ((bf.CHECKSUMS, "sha256"), (bf.SM3_CHECKSUMS, "sm3")):
            data = self._small(listing)
            if data is None:
                if listing in self.names:
                    continue  # already reported as unreadable
                self.add(f"checksums.{algo}", listing, Verdict.FAIL, "missing from the bundle")
                continue
            try:
                entries = _parse_checksums(data)
            except BundleError as exc:
                self.add(f"checksums.{algo}", listing, Verdict.FAIL, exc.message)
                continue
            listed = set(entries)
            for name, expected in sorted(entries.items()):
                got = self.digests.get(name)
                if name not in self.names:
                    self.add(
                        f"checksums.{algo}",
                        name,
                        Verdict.FAIL,
                        f"listed in {listing} but missing from the bundle",
                    )
                elif got is None:
                    continue
                elif getattr(got, algo) != expected:
                    self.add(
                        f"checksums.{algo}",
                        name,
                        Verdict.FAIL,
                        f"{algo.upper()} {getattr(got, algo)} differs from {listing} "
                        f"({expected}): {name} or its {listing} line was altered",
                    )
            unlisted = sorted(self.names - listed - {bf.CHECKSUMS, bf.SM3_CHECKSUMS})
            for name in unlisted:
                self.add(
                    f"checksums.{algo}",
                    name,
                    Verdict.FAIL,
                    f"file is in the bundle but not listed in {listing}",
                )
            if not any(
                c.check == f"checksums.{algo}" and c.verdict is Verdict.FAIL for c in self.checks
            ):
                self.add(
                    f"checksums.{algo}",
                    listing,
                    Verdict.PASS,
                    f"{len(entries)} files match {listing}",
                )

    def _check_artifacts(self, manifest: Manifest) -> None:
        listed = {entry.path for entry in manifest.artifacts}
        for entry in manifest.artifacts:
            got = self.digests.get(entry.path, None)
            if entry.path not in self.names:
                self.add(
                    "artifact.present",
                    entry.path,
                    Verdict.FAIL,
                    "listed in manifest.json but missing from the bundle",
                )
                continue
            if got is None:
                self.add("artifact.read", entry.path, Verdict.FAIL, "unreadable or corrupted")
                continue
            problems = []
            if got.size != entry.size:
                problems.append(f"size {got.size} differs from the manifest's {entry.size}")
            if got.sha256 != entry.sha256:
                problems.append(f"SHA-256 {got.sha256} differs from the manifest's {entry.sha256}")
            if got.sm3 != entry.sm3:
                problems.append(f"SM3 {got.sm3} differs from the manifest's {entry.sm3}")
            if problems:
                self.add("artifact.digest", entry.path, Verdict.FAIL, "; ".join(problems))
            else:
                self.add(
                    "artifact.digest",
                    entry.path,
                    Verdict.PASS,
                    f"{entry.size} bytes, SHA-256 and SM3 match the manifest",
                )
        for name in sorted(self.names):
            if name.startswith("artifacts/") and name not in listed:
                self.add(
                    "artifact.extra",
                    name,
                    Verdict.FAIL,
                    "file under artifacts/ that the manifest does not list",
                )

    def _check_timestamp(self, manifest_bytes: bytes, manifest: Manifest | None) -> None:
        token = self._small(bf.TOKEN)
        if token is None:
            if bf.TOKEN not in self.names:
                self.add(
                    "timestamp.token",
                    bf.TOKEN,
                    Verdict.NOT_CHECKED,
                    "the bundle has no time-stamp token (the item was not timestamped yet)",
                )
            return
        roots = self.options.trust_roots_pem
        roots_label = "the trust roots given on the command line"
        if roots is None:
            roots = self._small(bf.TSA_ROOT)
            roots_label = f"the root shipped in the bundle ({bf.TSA_ROOT})"
            if roots is None:
                self.add(
                    "timestamp.token",
                    bf.TOKEN,
                    Verdict.FAIL,
                    f"no trust root: {bf.TSA_ROOT} is missing and none was given",
                )
                return
        self.context["tsa_roots"] = f"{roots_label}, SHA-256 {digest_bytes(roots).sha256}"
        manifest_digest = digest_bytes(manifest_bytes).sha256
        try:
            result = verify_timestamp(token, bytes.fromhex(manifest_digest), roots)
        except TimestampError as exc:
            # The token is over manifest.json: a mismatch may mean either was changed.
            self.add(
                "timestamp.token",
                bf.TOKEN,
                Verdict.FAIL,
                f"{exc.message} (token over {bf.MANIFEST}, whose SHA-256 is {manifest_digest})",
            )
            return
        self.gen_time = result.gen_time
        development = False
        details = self._small(bf.TIMESTAMP_JSON)
        if details is not None:
            try:
                development = bf.timestamp_is_development(details)
            except BundleError as exc:
                self.add("timestamp.details", bf.TIMESTAMP_JSON, Verdict.FAIL, exc.message)
        note = " — DEVELOPMENT TSA, not a trusted third party" if development else ""
        self.add(
            "timestamp.token",
            bf.TOKEN,
            Verdict.PASS,
            f"signed by {result.tsa_subject} at {result.gen_time.isoformat()} over the "
            f"manifest digest, chain verified against {roots_label}{note}",
        )
        if manifest is not None:
            self._check_time_order(manifest, result.gen_time)

    def _check_time_order(self, manifest: Manifest, gen_time: datetime) -> None:
        started_raw = manifest.capture.get("started_at")
        try:
            started = datetime.fromisoformat(str(started_raw).replace("Z", "+00:00"))
        except ValueError:
            self.add(
                "time.order",
                bf.MANIFEST,
                Verdict.FAIL,
                f"capture.started_at {started_raw!r} is not a time",
            )
            return
        if started <= gen_time:
            self.add(
                "time.order",
                bf.MANIFEST,
                Verdict.PASS,
                f"capture started {started.isoformat()} before genTime {gen_time.isoformat()}",
            )
        else:
            self.add(
                "time.order",
                bf.MANIFEST,
                Verdict.FAIL,
                f"capture.started_at {started.isoformat()} is after the token's genTime "
                f"{gen_time.isoformat()}",
            )

    def _check_anchor(self, manifest_bytes: bytes) -> None:
        data = self._small(bf.ANCHOR_JSON)
        if data is None:
            if bf.ANCHOR_JSON not in self.names:
                self.add(
                    "anchor",
                    bf.ANCHOR_JSON,
                    Verdict.NOT_CHECKED,
                    "the bundle has no anchor record (the item was not anchored yet)",
                )
            return
        try:
            anchor = bf.anchor_from_json(data)
        except BundleError as exc:
            self.add("anchor.record", bf.ANCHOR_JSON, Verdict.FAIL, exc.message)
            return
        manifest_sha256 = digest_bytes(manifest_bytes).sha256
        if anchor.leaf.lower() != manifest_sha256:
            self.add(
                "anchor.leaf",
                bf.ANCHOR_JSON,
                Verdict.FAIL,
                f"the anchored leaf {anchor.leaf} is not the manifest digest {manifest_sha256}",
            )
            return
        try:
            proof = InclusionProof(
                anchor.leaf_index, anchor.tree_size, tuple(bytes.fromhex(h) for h in anchor.proof)
            )
            computed = root_from_proof(bytes.fromhex(manifest_sha256), proof)
        except (ValueError, TypeError) as exc:
            self.add(
                "anchor.merkle",
                bf.ANCHOR_JSON,
                Verdict.FAIL,
                f"the Merkle proof is malformed: {exc}",
            )
            return
        if "0x" + computed.hex() != anchor.root.lower():
            self.add(
                "anchor.merkle",
                bf.ANCHOR_JSON,
                Verdict.FAIL,
                f"the Merkle path from the manifest digest leads to 0x{computed.hex()}, "
                f"not to the anchored root {anchor.root}",
            )
            return
        self.add(
            "anchor.merkle",
            bf.ANCHOR_JSON,
            Verdict.PASS,
            f"the manifest digest is leaf {anchor.leaf_index} of {anchor.tree_size} under "
            f"root {anchor.root}",
        )
        expected_root = anchor.root.lower()
        self._check_trusted_anchor_parties(anchor)
        self._check_block_time(anchor)
        if self.options.offline:
            self.add(
                "anchor.chain",
                bf.ANCHOR_JSON,
                Verdict.NOT_CHECKED,
                "offline mode: the chain was not queried",
            )
            return
        rpc = self.options.rpc_url or anchor.rpc_url
        self.context["rpc_url"] = rpc + (
            " (given by the verifier)" if self.options.rpc_url else " (recorded in the bundle)"
        )
        try:
            seen = check_anchor(
                rpc,
                chain_id=self.options.chain_id or anchor.chain_id,
                contract_address=self.options.registry or anchor.contract_address,
                transaction_hash=anchor.transaction_hash,
                root=bytes.fromhex(expected_root[2:]),
                min_confirmations=self.options.min_confirmations,
            )
        except ChainUnreachableError as exc:
            self.add("anchor.chain", bf.ANCHOR_JSON, Verdict.NOT_CHECKED, exc.message)
            return
        except AnchorError as exc:
            self.add("anchor.chain", bf.ANCHOR_JSON, Verdict.FAIL, exc.message)
            return
        mismatches = []
        if seen.block_number != anchor.block_number:
            mismatches.append(f"block_number {anchor.block_number} (chain: {seen.block_number})")
        if seen.block_hash.lower() != anchor.block_hash.lower():
            mismatches.append(f"block_hash {anchor.block_hash} (chain: {seen.block_hash})")
        if seen.anchored_at_block_time != anchor.block_time:
            mismatches.append(
                f"block_time {anchor.block_time.isoformat()} "
                f"(chain: {seen.anchored_at_block_time.isoformat()})"
            )
        if mismatches:
            self.add(
                "anchor.chain",
                bf.ANCHOR_JSON,
                Verdict.FAIL,
                "recorded " + "; ".join(mismatches) + " differ from the chain",
            )
            return
        dev = " — local DEVELOPMENT chain" if anchor.development else ""
        self.add(
            "anchor.chain",
            bf.ANCHOR_JSON,
            Verdict.PASS,
            f"transaction {anchor.transaction_hash} in block {seen.block_number} on chain "
            f"{seen.chain_id} carries the root; {seen.confirmations} confirmation(s){dev}",
        )

    def _check_trusted_anchor_parties(self, anchor: AnchorReceipt) -> None:
        registry = self.options.registry
        if registry is None:
            self.context["registry"] = f"{anchor.contract_address} (recorded in the bundle)"
        else:
            self.context["registry"] = f"{registry} (trusted, given by the verifier)"
            if anchor.contract_address.lower() != registry.lower():
                self.add(
                    "anchor.registry",
                    f"{bf.ANCHOR_JSON}: contract_address",
                    Verdict.FAIL,
                    f"contract mismatch: the root was anchored in {anchor.contract_address}, "
                    f"not our contract, the trusted registry {registry}",
                )
            else:
                self.add(
                    "anchor.registry",
                    f"{bf.ANCHOR_JSON}: contract_address",
                    Verdict.PASS,
                    f"anchored in the trusted registry {registry}",
                )
        expected_chain = self.options.chain_id
        if expected_chain is None:
            self.context["chain_id"] = f"{anchor.chain_id} (recorded in the bundle)"
        else:
            self.context["chain_id"] = f"{expected_chain} (trusted, given by the verifier)"
            verdict = Verdict.PASS if anchor.chain_id == expected_chain else Verdict.FAIL
            self.add(
                "anchor.chain_id",
                f"{bf.ANCHOR_JSON}: chain_id",
                verdict,
                f"recorded chain id {anchor.chain_id}"
                + (" is" if verdict is Verdict.PASS else " differs from")
                + f" the trusted chain id {expected_chain}",
            )

    def _check_block_time(self, anchor: AnchorReceipt) -> None:
        if self.gen_time is None:
            return  # no verified genTime: the token check already says why
        skew = (anchor.block_time - self.gen_time).total_seconds()
        tolerance = self.options.block_time_tolerance_s
        subject = f"{bf.ANCHOR_JSON}: block_time"
        where = "recorded block time" + (
            " (compared with the chain below)" if not self.options.offline else ""
        )
        if skew < -_CLOCK_SKEW_S:
            self.add(
                "time.anchor",
                subject,
                Verdict.FAIL,
                f"{where} {anchor.block_time.isoformat()} is before the token's genTime "
                f"{self.gen_time.isoformat()}: a root cannot be anchored before it was timestamped",
            )
        elif skew > tolerance:
            self.add(
                "time.anchor",
                subject,
                Verdict.FAIL,
                f"{where} {anchor.block_time.isoformat()} is {skew:.0f} s after genTime "
                f"{self.gen_time.isoformat()}, more than the tolerance of {tolerance} s",
            )
        else:
            self.add(
                "time.anchor",
                subject,
                Verdict.PASS,
                f"{where} {anchor.block_time.isoformat()} is {skew:.0f} s after genTime "
                f"(tolerance {tolerance} s)",
            )

    def _check_signatures(self, manifest_bytes: bytes) -> None:
        """Manifest CMS signatures (``signatures/*.p7s``) and the officers' certificates."""
        signatures = sorted(
            n for n in self.names if n.startswith(SIGNATURE_DIR) and n.endswith(".p7s")
        )
        if not signatures:
            self.add(
                "manifest.signature",
                SIGNATURE_DIR,
                Verdict.NOT_CHECKED,
                "no signatures in bundle",
            )
            return
        verifier = _signature_verifier()
        for name in signatures:
            if verifier is None:
                self.add(
                    "manifest.signature",
                    name,
                    Verdict.NOT_CHECKED,
                    "this verifier has no CMS signature support"
                    " (evidence.model.signatures is missing)",
                )
                continue
            data = self._small(name)
            if data is None:
                continue  # already reported as unreadable or too large
            try:
                signer = verifier(manifest_bytes, data, self._signer_roots())
            except EvidenceError as exc:
                self.add("manifest.signature", name, Verdict.FAIL, f"{exc.message}")
                continue
            except Exception as exc:  # a malformed signature must be a verdict, not a crash
                self.add(
                    "manifest.signature",
                    name,
                    Verdict.FAIL,
                    f"unreadable signature ({type(exc).__name__}: {exc})",
                )
                continue
            if getattr(signer, "trusted", True) is False:
                # The CMS signature is intact, but who signed is unproven without roots.
                self.add(
                    "manifest.signature",
                    name,
                    Verdict.NOT_CHECKED,
                    f"signature over {bf.MANIFEST} is intact, by {_describe_signer(signer)}, "
                    "but the certificate was not checked against trusted roots "
                    "(give --signer-roots)",
                )
                continue
            self.add(
                "manifest.signature",
                name,
                Verdict.PASS,
                f"valid signature over {bf.MANIFEST} by {_describe_signer(signer)}, "
                "certificate chains to the given signer roots",
            )

    def _signer_roots(self) -> list[x509.Certificate] | None:
        pem = self.options.signer_roots_pem
        if pem is None:
            return None
        try:
            return x509.load_pem_x509_certificates(pem)
        except ValueError as exc:
            raise BundleError(f"the signer trust roots are not PEM certificates ({exc})") from exc

    def _check_warc_records(self, manifest: Manifest | None) -> None:
        warcs = sorted(
            n for n in self.names if n.startswith("artifacts/") and n.lower().endswith(".warc")
        )
        if manifest is not None:
            warcs = sorted(
                set(warcs) | {e.path for e in manifest.artifacts if e.role == "warc"} & self.names
            )
        for name in warcs:
            if self.digests.get(name) is None:
                continue
            self._check_one_warc(name)

    def _check_one_warc(self, name: str) -> None:
        checked = 0
        failed = 0
        unsigned: list[str] = []
        try:
            with self.source.open(name) as stream:
                records = ArchiveIterator(stream, check_digests=True)
                for record in records:
                    headers = record.rec_headers
                    record_id = headers.get_header("WARC-Record-ID") or "(no WARC-Record-ID)"
                    target = headers.get_header("WARC-Target-URI") or "(no target URI)"
                    block = headers.get_header("WARC-Block-Digest") or ""
                    while record.raw_stream.read(CHUNK_SIZE):
                        pass
                    checked += 1
                    checker = record.digest_checker
                    if checker.passed is False:
                        failed += 1
                        self.add(
                            "warc.record",
                            f"{name}: {record_id}",
                            Verdict.FAIL,
                            f"record for {target} at offset {records.get_record_offset()}: "
                            + "; ".join(str(p) for p in checker.problems),
                        )
                    elif not block.lower().startswith("sha256:"):
                        unsigned.append(record_id)
                    elif checker.passed is None and headers.get_header("WARC-Type") != "revisit":
                        failed += 1
                        self.add(
                            "warc.record",
                            f"{name}: {record_id}",
                            Verdict.FAIL,
                            f"record for {target}: its digests could not be recomputed "
                            "(the record is truncated)",
                        )
        except (ArchiveLoadFailed, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
            self._warc_unreadable(name, checked, exc)
            return
        except (AttributeError, TypeError, KeyError, IndexError) as exc:
            # warcio trips over some malformed headers with these; still a verdict.
            self._warc_unreadable(name, checked, exc)
            return
        if records.err_count:
            failed += 1
            self.add(
                "warc.record",
                name,
                Verdict.FAIL,
                f"{records.err_count} stretch(es) of data that are not WARC records",
            )
        if unsigned:
            failed += 1
            self.add(
                "warc.record",
                f"{name}: {unsigned[0]}",
                Verdict.FAIL,
                f"{len(unsigned)} record(s) carry no sha256: WARC-Block-Digest "
                f"(first {unsigned[0]})",
            )
        if checked == 0:
            self.add("warc.record", name, Verdict.FAIL, "the WARC holds no records")
        elif not failed:
            self.add(
                "warc.record",
                name,
                Verdict.PASS,
                f"{checked} records: every sha256 block and payload digest recomputed and matching",
            )

    def _warc_unreadable(self, name: str, checked: int, exc: BaseException) -> None:
        self.add(
            "warc.record",
            name,
            Verdict.FAIL,
            f"not a readable WARC after {checked} record(s): {_one_line(exc)}",
        )

    def _check_custody(self) -> None:
        name = CUSTODY_LOG
        if name not in self.names:
            self.add(
                "custody.chain",
                name,
                Verdict.NOT_CHECKED,
                "no custody-log extract in bundle",
            )
            return
        if self.digests.get(name) is None:
            return
        data = self._small(name)
        if data is None:
            return
        try:
            count = _verify_custody_chain(data)
        except BundleError as exc:
            self.add("custody.chain", name, Verdict.FAIL, exc.message)
            return
        self.add(
            "custody.chain",
            name,
            Verdict.PASS,
            f"{count} events: every event_hash recomputed, every prev_hash and seq linked",
        )

    def _check_report_pdf(self) -> None:
        if bf.REPORT not in self.names or self.digests.get(bf.REPORT) is None:
            return
        # Not a PDF parser: a header and end-of-file marker are enough to tell a
        # damaged or substituted file apart; the checksums carry the real check.
        with self.source.open(bf.REPORT) as stream:
            head = stream.read(8)
        digests = self.digests[bf.REPORT]
        assert digests is not None
        tail = b""
        with self.source.open(bf.REPORT) as stream:
            skip = max(digests.size - 2048, 0)
            while skip > 0:
                got = stream.read(min(skip, CHUNK_SIZE))
                if not got:
                    break
                skip -= len(got)
            tail = stream.read(2048)
        if not head.startswith(b"%PDF-") or b"%%EOF" not in tail:
            self.add(
                "report.format",
                bf.REPORT,
                Verdict.FAIL,
                "not a complete PDF file (no %PDF- header or no %%EOF marker)",
            )
        else:
            self.add("report.format", bf.REPORT, Verdict.PASS, "a complete PDF file")

    def _check_replay(self, manifest: Manifest) -> None:
        check = "screenshot.replay"
        screenshots = [e for e in manifest.artifacts if e.role == "screenshot"]
        warcs = [e for e in manifest.artifacts if e.role == "warc"]
        tiles = [e for e in manifest.artifacts if e.role == "screenshot-tile"]
        if tiles and not manifest.capture.get("screenshot_stitched", True):
            # screenshot.png is then only the first tile: comparing the whole
            # replayed page with it would be a false failure.
            self.add(
                check,
                screenshots[0].path if screenshots else tiles[0].path,
                Verdict.NOT_CHECKED,
                f"the page ({manifest.capture.get('page_height', '?')} px tall) was kept as "
                f"{len(tiles)} screenshot tiles, not stitched: the replay is compared only "
                "with a single full-page screenshot",
            )
            return
        if not screenshots or not warcs:
            self.add(
                check,
                bf.MANIFEST,
                Verdict.NOT_CHECKED,
                "the manifest lists no screenshot or no WARC to compare",
            )
            return
        shot, warc = screenshots[0], warcs[0]
        if not self.options.replay:
            self.add(check, shot.path, Verdict.NOT_CHECKED, "replay disabled (--no-replay)")
            return
        if any(self.digests.get(e.path) is None for e in (shot, warc)):
            self.add(
                check,
                shot.path,
                Verdict.NOT_CHECKED,
                f"{shot.path} or {warc.path} is missing or unreadable",
            )
            return
        url = str(manifest.capture.get("final_url") or manifest.capture.get("requested_url"))
        viewport = manifest.capture.get("viewport") or {}
        try:
            size = (int(viewport["width"]), int(viewport["height"]))
            if not (100 <= size[0] <= 10_000 and 100 <= size[1] <= 10_000):
                raise ValueError(f"viewport {size} out of range")
        except (KeyError, TypeError, ValueError) as exc:
            self.add(check, bf.MANIFEST, Verdict.FAIL, f"capture.viewport is unusable: {exc}")
            return
        recorded_agent = manifest.capture.get("user_agent")
        options = (
            CaptureOptions(user_agent=recorded_agent)
            if isinstance(recorded_agent, str) and recorded_agent
            else CaptureOptions()
        )
        try:
            with tempfile.TemporaryDirectory(prefix="evidence-replay-") as tmp:
                work = Path(tmp)
                os.chmod(work, 0o700)
                warc_copy = self._copy_out(warc.path, work / "capture.warc")
                shot_copy = self._copy_out(shot.path, work / "screenshot.png")
                rendered = replay_screenshot(
                    warc_copy, url, work / "replay.png", size, options=options
                )
                similarity, note = screenshot_similarity(shot_copy, rendered)
        except CaptureError as exc:
            verdict = Verdict.NOT_CHECKED if "Chromium" in exc.message else Verdict.FAIL
            self.add(check, shot.path, verdict, f"replay of {url} from {warc.path}: {exc.message}")
            return
        except BundleError as exc:
            self.add(check, shot.path, Verdict.FAIL, exc.message)
            return
        threshold = self.options.replay_threshold
        detail = (
            f"replaying {warc.path} offline at {size[0]}×{size[1]} and comparing with "
            f"{shot.path}: similarity {similarity:.4f} (threshold {threshold:g}){note}"
        )
        verdict = Verdict.PASS if similarity >= threshold else Verdict.FAIL
        self.add(check, shot.path, verdict, detail)

    def _check_video(self, manifest: Manifest) -> None:
        """The frames in the session video are the ones ``video-frames.json`` lists."""
        check = "video.frames"
        videos = [e for e in manifest.artifacts if e.role == "video"]
        listings = [e for e in manifest.artifacts if e.role == "video-frames"]
        if not videos:
            return  # recorded without video; the manifest says why (video_note)
        video = videos[0]
        if not listings or any(self.digests.get(e.path) is None for e in (video, listings[0])):
            self.add(check, video.path, Verdict.FAIL, "the video or its frame list is missing")
            return
        data = self._small(listings[0].path)
        if data is None:
            return  # unreadable or too large: already a FAIL
        try:
            listed = json.loads(data.decode("utf-8"))
            frames = [(round(float(f["offset_s"]), 3), str(f["sha256"])) for f in listed["frames"]]
        except (ValueError, TypeError, KeyError) as exc:
            self.add(
                check, listings[0].path, Verdict.FAIL, f"unreadable frame list ({_one_line(exc)})"
            )
            return
        try:
            with tempfile.TemporaryDirectory(prefix="evidence-video-") as tmp:
                work = Path(tmp)
                read = read_video_frames(self._copy_out(video.path, work / "video.mkv"), work)
        except OSError as exc:
            self.add(check, video.path, Verdict.NOT_CHECKED, f"{exc}; the file itself is "
                     "covered by artifact.digest")  # fmt: skip
            return
        except (ValueError, subprocess.SubprocessError, BundleError) as exc:
            self.add(check, video.path, Verdict.FAIL, str(exc))
            return
        got = [(f.offset_s, f.sha256) for f in read]
        if got == frames:
            self.add(
                check,
                video.path,
                Verdict.PASS,
                f"{len(got)} frames copied out with ffmpeg: each JPEG's SHA-256 and time "
                f"match {listings[0].path}",
            )
            return
        if len(got) != len(frames):
            detail = f"{len(got)} frames in the video, {len(frames)} listed in {listings[0].path}"
        else:
            n = next(i for i, (a, b) in enumerate(zip(got, frames, strict=True)) if a != b)
            what = "SHA-256" if got[n][1] != frames[n][1] else "time"
            detail = (
                f"frame {n} (at {frames[n][0]:g} s): its {what} differs from {listings[0].path}"
            )
        self.add(check, video.path, Verdict.FAIL, detail)

    def _copy_out(self, name: str, target: Path) -> Path:
        digests = self.digests[name]
        assert digests is not None
        with self.source.open(name) as src, target.open("wb") as out:
            hasher = DualHasher()
            for chunk in _read_chunks(src):
                hasher.update(chunk)
                out.write(chunk)
        # What is replayed must be what was hashed and checked above.
        if hasher.finalize().sha256 != digests.sha256:
            raise BundleError(f"{name} changed while being read")
        return target


class _WaczVerifier(_Verifier):
    """A WACZ: its own integrity, its WARCs, and the evidence bundle it carries."""

    def run(self) -> VerificationReport:
        self.context["format"] = "WACZ"
        self._hash_all()
        package = self._check_datapackage()
        self._check_datapackage_digest()
        warcs = sorted(
            n
            for n in self.names
            if n.startswith(WACZ_ARCHIVE) and n.lower().endswith((".warc", ".warc.gz"))
        )
        if not warcs:
            self.add("warc.record", WACZ_ARCHIVE, Verdict.FAIL, "the WACZ holds no WARC")
        for name in warcs:
            if self.digests.get(name) is not None:
                self._check_one_warc(name)
        manifest_sha256 = self._check_evidence(package, warcs)
        return VerificationReport(self.label, manifest_sha256, tuple(self.checks))

    def _check_datapackage(self) -> dict[str, object] | None:
        check, name = "wacz.datapackage", WACZ_DATAPACKAGE
        data = self._small(name)
        if data is None:
            return None  # unreadable or too large: already a FAIL
        try:
            package = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.add(check, name, Verdict.FAIL, f"not UTF-8 JSON ({_one_line(exc)})")
            return None
        resources = package.get("resources") if isinstance(package, dict) else None
        if not isinstance(resources, list):
            self.add(check, name, Verdict.FAIL, "no 'resources' list: not a WACZ datapackage")
            return None
        failed = 0
        listed: set[str] = set()
        for number, resource in enumerate(resources):
            path = resource.get("path") if isinstance(resource, dict) else None
            if not isinstance(path, str) or not path:
                failed += 1
                self.add(check, name, Verdict.FAIL, f"resources[{number}] has no path")
                continue
            assert isinstance(resource, dict)
            if path in listed:
                failed += 1
                self.add(check, path, Verdict.FAIL, f"listed twice in {name}")
                continue
            listed.add(path)
            if path not in self.names:
                failed += 1
                self.add(check, path, Verdict.FAIL, f"listed in {name} but missing from the WACZ")
                continue
            got = self.digests.get(path)
            if got is None:
                continue  # unreadable: already a FAIL
            problems = []
            declared = resource.get("hash")
            if not isinstance(declared, str) or not declared.lower().startswith("sha256:"):
                problems.append(f"its hash {declared!r} in {name} is not a sha256: digest")
            elif declared[7:].lower() != got.sha256:
                problems.append(f"SHA-256 {got.sha256} differs from {name}'s {declared[7:]}")
            size = resource.get("bytes")
            if size is not None and size != got.size:
                problems.append(f"size {got.size} differs from {name}'s {size!r}")
            if problems:
                failed += 1
                self.add(check, path, Verdict.FAIL, "; ".join(problems))
        for path in sorted(self.names - listed - {WACZ_DATAPACKAGE, WACZ_DIGEST}):
            failed += 1
            self.add(check, path, Verdict.FAIL, f"file in the WACZ that {name} does not list")
        if not failed:
            self.add(
                check,
                name,
                Verdict.PASS,
                f"{len(listed)} resources: every SHA-256 and size matches {name}",
            )
        return package if isinstance(package, dict) else None

    def _check_datapackage_digest(self) -> None:
        check, name = "wacz.digest", WACZ_DIGEST
        if name not in self.names:
            self.add(check, name, Verdict.NOT_CHECKED, f"the WACZ has no {name}")
            return
        data = self._small(name)
        package = self.digests.get(WACZ_DATAPACKAGE)
        if data is None or package is None:
            return  # already reported
        try:
            raw = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.add(check, name, Verdict.FAIL, f"not UTF-8 JSON ({_one_line(exc)})")
            return
        if not isinstance(raw, dict) or raw.get("path") != WACZ_DATAPACKAGE:
            self.add(check, name, Verdict.FAIL, f"does not name {WACZ_DATAPACKAGE} as its path")
            return
        declared = raw.get("hash")
        if declared != f"sha256:{package.sha256}":
            self.add(
                check,
                name,
                Verdict.FAIL,
                f"hash {declared!r} is not the SHA-256 of {WACZ_DATAPACKAGE} "
                f"(sha256:{package.sha256}): one of the two was altered",
            )
            return
        self.add(check, name, Verdict.PASS, f"matches {WACZ_DATAPACKAGE}, SHA-256 {package.sha256}")
        if "signedData" in raw:
            self.add(
                "wacz.signature",
                name,
                Verdict.NOT_CHECKED,
                "the WACZ's own signedData (WACZ auth) is not checked by this verifier",
            )

    def _check_evidence(self, package: dict[str, object] | None, warcs: list[str]) -> str | None:
        claimed = package.get("evidenceManifestSha256") if package else None
        if WACZ_EVIDENCE not in self.names:
            why = (
                f"this WACZ carries no evidence bundle ({WACZ_EVIDENCE}): only its own hashes "
                "and WARC records could be checked; verify the item's evidence bundle instead"
            )
            if isinstance(claimed, str):
                why += f" (datapackage.json names manifest SHA-256 {claimed})"
            for check in _EVIDENCE_CHECKS:
                self.add(check, WACZ_EVIDENCE, Verdict.NOT_CHECKED, why)
            return None
        if self.digests.get(WACZ_EVIDENCE) is None:
            return None  # unreadable: already a FAIL
        with tempfile.TemporaryDirectory(prefix="evidence-wacz-") as tmp:
            work = Path(tmp)
            os.chmod(work, 0o700)
            try:
                copy = self._copy_out(WACZ_EVIDENCE, work / "bundle.zip")
                inner_source = open_bundle(copy, self.options.limits)
            except BundleError as exc:
                self.add("evidence.bundle", WACZ_EVIDENCE, Verdict.FAIL, exc.message)
                return None
            try:
                inner = _Verifier(inner_source, f"{self.label}:{WACZ_EVIDENCE}", self.options)
                report = inner.run()
            finally:
                inner_source.close()
        for result in report.checks:
            self.checks.append(replace(result, subject=f"{WACZ_EVIDENCE}/{result.subject}"))
        for key, value in inner.context.items():
            self.context.setdefault(key, value)
        self._check_archive_is_sealed(inner.manifest, warcs)
        if report.manifest_sha256 is not None and claimed is not None:
            same = claimed == report.manifest_sha256
            self.add(
                "wacz.manifest_link",
                f"{WACZ_DATAPACKAGE}: evidenceManifestSha256",
                Verdict.PASS if same else Verdict.FAIL,
                f"{claimed!r} "
                + ("is" if same else "is not")
                + f" the SHA-256 of the bundled manifest.json ({report.manifest_sha256})",
            )
        return report.manifest_sha256

    def _check_archive_is_sealed(self, manifest: Manifest | None, warcs: list[str]) -> None:
        check = "wacz.warc"
        if manifest is None:
            self.add(
                check,
                WACZ_ARCHIVE,
                Verdict.NOT_CHECKED,
                f"no readable manifest in {WACZ_EVIDENCE} to compare the WARCs with",
            )
            return
        matched: set[str] = set()
        for entry in (e for e in manifest.artifacts if e.role == "warc"):
            name = WACZ_ARCHIVE + PurePosixPath(entry.path).name
            matched.add(name)
            got = self.digests.get(name)
            if name not in self.names:
                self.add(
                    check, name, Verdict.FAIL, f"the sealed {entry.path} has no copy in the WACZ"
                )
            elif got is None:
                continue  # unreadable: already a FAIL
            elif (got.sha256, got.sm3, got.size) != (entry.sha256, entry.sm3, entry.size):
                self.add(
                    check,
                    name,
                    Verdict.FAIL,
                    f"not byte-identical to the sealed {entry.path}: SHA-256 {got.sha256}, "
                    f"{got.size} bytes; the manifest says {entry.sha256}, {entry.size} bytes",
                )
            else:
                self.add(
                    check,
                    name,
                    Verdict.PASS,
                    f"byte-identical to the sealed {entry.path} ({entry.size} bytes, SHA-256 "
                    "and SM3 match the manifest)",
                )
        for name in warcs:
            if name not in matched:
                self.add(check, name, Verdict.FAIL, "a WARC that the sealed manifest does not list")


def screenshot_similarity(captured: Path, rendered: Path) -> tuple[float, str]:
    """1 − mean absolute grey-level difference of the two images, both scaled to 256 px wide.

    Returns the figure (1.0 = identical at that scale) and a note on any size
    difference. Raises :class:`BundleError` for a PNG that cannot be read
    within the pixel budget.
    """
    images = []
    for path in (captured, rendered):
        try:
            with Image.open(path) as img:
                width, height = img.size
                if width * height > MAX_COMPARE_PIXELS:
                    raise BundleError(
                        f"{path.name}: {width}×{height} px is too large to compare "
                        f"(limit {MAX_COMPARE_PIXELS} px)"
                    )
                images.append(img.convert("L"))
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise BundleError(f"screenshot is not a readable image: {_one_line(exc)}") from exc
    shot, replay = images
    note = ""
    if shot.size != replay.size:
        note = f"; sizes differ: captured {shot.size[0]}×{shot.size[1]}, replayed " + (
            f"{replay.size[0]}×{replay.size[1]}"
        )
    width = COMPARE_WIDTH
    height = max(1, round(shot.size[1] * width / max(shot.size[0], 1)))
    a = shot.resize((width, height), Image.Resampling.BOX)
    b = replay.resize((width, height), Image.Resampling.BOX)
    mean = ImageStat.Stat(ImageChops.difference(a, b)).mean[0]
    return 1.0 - mean / 255.0, note


def _verify_custody_chain(data: bytes) -> int:
    """Check a custody-log extract as ``docs/custody.md`` specifies; the event count."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"not UTF-8 ({exc})") from exc
    previous_hash: str | None = None
    previous_seq: int | None = None
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            raise BundleError(f"line {number} is empty")
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BundleError(f"line {number} is not JSON ({exc.msg})") from exc
        if not isinstance(event, dict):
            raise BundleError(f"line {number} is not a JSON object")
        event_hash = event.get("event_hash")
        prev_hash = event.get("prev_hash")
        seq = event.get("seq")
        if not isinstance(event_hash, str) or not _HEX64.fullmatch(event_hash):
            raise BundleError(f"line {number}: event_hash is missing or not 64 hex digits")
        if not isinstance(prev_hash, str) or not _HEX64.fullmatch(prev_hash):
            raise BundleError(f"line {number}: prev_hash is missing or not 64 hex digits")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise BundleError(f"line {number}: seq is missing or not an integer")
        label = f"line {number} (seq {seq})"
        if previous_hash is not None and prev_hash != previous_hash:
            raise BundleError(
                f"{label}: prev_hash {prev_hash} is not the previous event_hash {previous_hash} "
                "(an event was removed, inserted or reordered)"
            )
        if previous_seq is not None and seq != previous_seq + 1:
            raise BundleError(f"{label}: seq follows {previous_seq} (gap or reordering)")
        if event.get("redacted") is not True:
            body = {k: v for k, v in event.items() if k != "event_hash"}
            recomputed = hashlib.sha256(canonical_json(body)).hexdigest()
            if recomputed != event_hash:
                raise BundleError(
                    f"{label}: event_hash {event_hash} differs from the recomputed {recomputed} "
                    f"(the {event.get('action', '?')!s} event was edited)"
                )
        elif set(event) - {"event_hash", "prev_hash", "redacted", "seq"}:
            raise BundleError(f"{label}: a redacted event may hold only its hashes and seq")
        previous_hash, previous_seq = event_hash, seq
        count += 1
    if count == 0:
        raise BundleError("the extract holds no events")
    return count


def _signature_verifier() -> Callable[[bytes, bytes, list[x509.Certificate] | None], object] | None:
    """``evidence.model.signatures.verify_manifest_signature`` once that module exists."""
    try:
        module = importlib.import_module("evidence.model.signatures")
    except ImportError:
        return None
    function = getattr(module, "verify_manifest_signature", None)
    return function if callable(function) else None


def _describe_signer(signer: object) -> str:
    name = getattr(signer, "common_name", None)
    enforcement_id = getattr(signer, "enforcement_id", None)
    if name and enforcement_id:
        # As evidence.model.signatures names signers in its errors, so both read alike.
        return f"{name} (enforcement ID {enforcement_id}, certificate SHA-256 " + (
            f"{getattr(signer, 'certificate_sha256', '?')})"
        )
    for attribute in ("subject", "signer", "name", "common_name"):
        value = getattr(signer, attribute, None)
        if value:
            return str(value)
    return str(signer)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _read_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk


def _parse_checksums(data: bytes) -> dict[str, str]:
    entries: dict[str, str] = {}
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise BundleError(f"not ASCII text ({exc})") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise BundleError(f"line {number} is not '<hex digest>  <path>'")
        if name in entries:
            raise BundleError(f"line {number} lists {name} twice")
        entries[name] = digest
    return entries


__all__ = [
    "BundleLimits",
    "CheckResult",
    "EvidenceError",
    "Verdict",
    "VerificationReport",
    "VerificationRun",
    "VerifyOptions",
    "is_wacz",
    "run_verification",
    "screenshot_similarity",
    "verify_bundle",
]
