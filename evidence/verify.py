"""The bundle verifier: every check named, every failure pointing at a file.

Each check yields a :class:`CheckResult` with PASS, FAIL or NOT CHECKED and
the file or field it concerns; nothing is skipped silently. A bundle is read
either as the zip that ``evidence export`` writes or as its unpacked folder
(what an expert gets after ``unzip``). Files are hashed as they stream, never
extracted to disk.
"""

from __future__ import annotations

import logging
import stat
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from anchoring.chain import ChainUnreachableError, check_anchor
from anchoring.tsa import verify_timestamp
from evidence import bundle_format as bf
from evidence.errors import AnchorError, BundleError, EvidenceError, TimestampError
from evidence.hashing import CHUNK_SIZE, Digests, DualHasher, digest_bytes
from evidence.manifest import Manifest, parse_manifest
from evidence.merkle import InclusionProof, root_from_proof
from evidence.records import CheckResult, Verdict, VerificationReport

logger = logging.getLogger(__name__)

MAX_MEMBERS = 10_000
MAX_SMALL_FILE = 64 * 1024 * 1024
"""Metadata files (manifest, token, JSON) are read into memory; cap them."""


class _Source(Protocol):
    def names(self) -> list[str]: ...
    def open(self, name: str) -> IO[bytes]: ...
    def close(self) -> None: ...


class _ZipSource:
    def __init__(self, path: Path) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise BundleError(f"{path}: not a readable zip bundle ({exc})") from exc
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise BundleError(f"{path}: {len(infos)} entries, more than a bundle may hold")
        seen: set[str] = set()
        for info in infos:
            _check_member_name(info.filename)
            if info.filename in seen:
                raise BundleError(f"{path}: duplicate entry {info.filename!r}")
            seen.add(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise BundleError(f"{path}: entry {info.filename!r} is a symbolic link")
        self._names = [i.filename for i in infos if not i.is_dir()]

    def names(self) -> list[str]:
        return list(self._names)

    def open(self, name: str) -> IO[bytes]:
        return self._zip.open(name)

    def close(self) -> None:
        self._zip.close()


class _DirSource:
    def __init__(self, root: Path) -> None:
        self._root = root
        names: list[str] = []
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                raise BundleError(
                    f"{root}: {rel} is a symbolic link; bundles hold plain files only"
                )
            if path.is_file():
                names.append(rel)
            if len(names) > MAX_MEMBERS:
                raise BundleError(f"{root}: more files than a bundle may hold")
        self._names = names

    def names(self) -> list[str]:
        return list(self._names)

    def open(self, name: str) -> IO[bytes]:
        return (self._root / name).open("rb")

    def close(self) -> None:
        return None


def _check_member_name(name: str) -> None:
    pure = PurePosixPath(name)
    if name.startswith("/") or "\\" in name or ".." in pure.parts or ":" in name:
        raise BundleError(f"bundle entry {name!r} has an unsafe path")


def open_bundle(path: Path) -> _Source:
    if path.is_dir():
        return _DirSource(path)
    if not path.exists():
        raise BundleError(f"{path}: no such bundle")
    return _ZipSource(path)


def verify_bundle(
    path: Path,
    *,
    rpc_url: str | None = None,
    trust_roots_pem: bytes | None = None,
    offline: bool = False,
    min_confirmations: int = 1,
) -> VerificationReport:
    """Run every check on a bundle (zip or unpacked folder).

    ``trust_roots_pem`` replaces the TSA root shipped in the bundle (an expert
    should pass the roots they trust); ``rpc_url`` replaces the endpoint
    recorded in the anchor; ``offline`` skips the chain, which is then
    reported as NOT CHECKED. Raises :class:`BundleError` only when the bundle
    cannot be read at all.
    """
    source = open_bundle(path)
    try:
        return _Verifier(
            source, str(path), rpc_url, trust_roots_pem, offline, min_confirmations
        ).run()
    finally:
        source.close()


class _Verifier:
    def __init__(
        self,
        source: _Source,
        label: str,
        rpc_url: str | None,
        trust_roots_pem: bytes | None,
        offline: bool,
        min_confirmations: int,
    ) -> None:
        self.source = source
        self.label = label
        self.rpc_url = rpc_url
        self.trust_roots_pem = trust_roots_pem
        self.offline = offline
        self.min_confirmations = min_confirmations
        self.names = set(source.names())
        self.checks: list[CheckResult] = []
        self.digests: dict[str, Digests | None] = {}

    def add(self, check: str, subject: str, verdict: Verdict, detail: str) -> None:
        self.checks.append(CheckResult(check, subject, verdict, detail))

    def run(self) -> VerificationReport:
        self._hash_all()
        manifest_bytes = self._small(bf.MANIFEST)
        manifest: Manifest | None = None
        manifest_sha256: str | None = None
        if manifest_bytes is None:
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
            self._check_timestamp(manifest_bytes, manifest)
            self._check_anchor(manifest_bytes)
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
        roots = self.trust_roots_pem
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
        digest = bytes.fromhex(digest_bytes(manifest_bytes).sha256)
        try:
            result = verify_timestamp(token, digest, roots)
        except TimestampError as exc:
            self.add("timestamp.token", bf.TOKEN, Verdict.FAIL, exc.message)
            return
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
                f"the anchored leaf {anchor.leaf} is not the manifest digest "
                f"{manifest_sha256}",
            )
            return
        try:
            proof = InclusionProof(
                anchor.leaf_index, anchor.tree_size, tuple(bytes.fromhex(h) for h in anchor.proof)
            )
            computed = root_from_proof(bytes.fromhex(manifest_sha256), proof)
        except ValueError as exc:
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
        if self.offline:
            self.add(
                "anchor.chain",
                bf.ANCHOR_JSON,
                Verdict.NOT_CHECKED,
                "offline mode: the chain was not queried",
            )
            return
        rpc = self.rpc_url or anchor.rpc_url
        try:
            seen = check_anchor(
                rpc,
                chain_id=anchor.chain_id,
                contract_address=anchor.contract_address,
                transaction_hash=anchor.transaction_hash,
                root=bytes.fromhex(expected_root[2:]),
                min_confirmations=self.min_confirmations,
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
    "CheckResult",
    "EvidenceError",
    "Verdict",
    "VerificationReport",
    "verify_bundle",
]
