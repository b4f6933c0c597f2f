"""The artifact store on an S3-compatible object store (SeaweedFS, MinIO, Ceph, AWS).

Objects are content-addressed and write-once, as in the local store:

* a write is spooled to a local file while SHA-256 and SM3 are computed, then
  sent under ``<prefix>/objects/<sha256[:2]>/<sha256>`` with the SHA-256 as an
  S3 checksum (the server refuses bytes that do not match it) and
  ``If-None-Match: *`` (the server refuses to replace an existing key); an
  existing key is checked first and accepted only when its recorded digest
  and size are the same — a different object under the name is reported,
  never overwritten;
* when the bucket has S3 Object Lock, every object is locked in COMPLIANCE
  mode for the configured retention (``EVIDENCE_S3_OBJECT_LOCK``,
  ``EVIDENCE_S3_RETENTION_DAYS``): not even the account's root can delete it;
* every read checks the digest: :meth:`open` returns a stream that raises
  IntegrityError at its end, :meth:`read_bytes`, :meth:`verify` and
  :meth:`path_for` check before returning.

:meth:`path_for` hands out a verified local copy from the read cache under
the data directory. boto3 is imported here only, and this module only when an
S3 store is configured.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from evidence.model._read_cache import ReadCache
from evidence.model.errors import (
    ConfigurationError,
    IntegrityError,
    NotFoundError,
    StoreError,
)
from evidence.model.hashing import CHUNK_SIZE, Digests, DualHasher
from evidence.model.redaction import redact_url
from evidence.model.store import ArtifactStore, is_sha256_hex
from evidence.model.store_settings import ObjectLockPolicy, S3Location, StoreSettings

logger = logging.getLogger(__name__)

_EXISTS_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_DENIED_CODES = frozenset(
    {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden"}
)
_LOCK_ABSENT_CODES = frozenset(
    {"ObjectLockConfigurationNotFoundError", "NotImplemented", "404", "MethodNotAllowed"}
)


class S3ArtifactStore(ArtifactStore):
    """The :class:`ArtifactStore` interface over one bucket and key prefix.

    Its local directory (``root``) is the read cache, laid out like a local
    store, so code typed for the local store (and ``evidence doctor``'s
    clean-up of ``tmp/incoming-*``) works unchanged.
    """

    def __init__(
        self,
        settings: StoreSettings,
        *,
        cache_root: Path,
        clock: Callable[[], datetime],
    ) -> None:
        if settings.location is None:
            raise ValueError("an S3 store needs an s3:// location")
        super().__init__(cache_root)
        self.settings = settings
        self.s3: S3Location = settings.location
        self._cache = ReadCache(cache_root, max_bytes=settings.cache_mb * 1024 * 1024)
        self._clock = clock
        self._client_lock = threading.Lock()
        self._client_obj: Any = None
        self._lock_enabled: bool | None = None

    # -- where ---------------------------------------------------------------

    @property
    def location(self) -> str:
        where = redact_url(self.settings.endpoint_url) if self.settings.endpoint_url else "AWS"
        return f"{self.s3.url} at {where}"

    def key_for(self, sha256: str) -> str:
        if not is_sha256_hex(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        return f"{self._objects_prefix}{sha256[:2]}/{sha256}"

    @property
    def _objects_prefix(self) -> str:
        return f"{self.s3.prefix}/objects/" if self.s3.prefix else "objects/"

    # -- writes --------------------------------------------------------------

    def put_chunks(self, chunks: Iterator[bytes]) -> Digests:
        try:
            spooled, digests = self._cache.spool(chunks)
        except OSError as exc:
            raise StoreError(f"cannot spool an object for {self.location}: {exc}") from exc
        try:
            self.upload_file(spooled, digests)
            self._cache.adopt(spooled, digests.sha256)
        finally:
            spooled.unlink(missing_ok=True)
        logger.debug("stored object %s (%d bytes) in %s", digests.sha256, digests.size, self.s3.url)
        return digests

    def upload_file(self, source: Path, digests: Digests) -> bool:
        """Send ``source`` (whose ``digests`` the caller computed) under its SHA-256.

        True when it was sent, False when the same object was already there;
        IntegrityError when another object is under the name (not overwritten).
        """
        key = self.key_for(digests.sha256)
        existing = self._head(key, digests.sha256)
        if existing is not None:
            self._accept_existing(existing, digests)
            return False
        arguments: dict[str, Any] = {
            "Bucket": self.s3.bucket,
            "Key": key,
            "ContentLength": digests.size,
            "ContentType": "application/octet-stream",
            "ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": base64.b64encode(bytes.fromhex(digests.sha256)).decode("ascii"),
            "Metadata": {"sha256": digests.sha256, "sm3": digests.sm3},
            **self._retention(),
        }
        from botocore.exceptions import ClientError

        try:
            with self._s3_errors(f"writing object {digests.sha256}"):
                try:
                    self._send(source, arguments, conditional=True)
                except ClientError as exc:
                    if _code(exc) != "NotImplemented":
                        raise
                    # The server does not know If-None-Match: the HEAD above checked.
                    self._send(source, arguments, conditional=False)
        except StoreError as exc:
            if not isinstance(exc.__cause__, ClientError) or _code(exc.__cause__) not in (
                _EXISTS_CODES
            ):
                raise
            # Written meanwhile by another worker: the same rules as above.
            existing = self._head(key, digests.sha256)
            if existing is None:
                raise
            self._accept_existing(existing, digests)
            return False
        return True

    def _send(self, source: Path, arguments: dict[str, Any], *, conditional: bool) -> None:
        extra = {"IfNoneMatch": "*"} if conditional else {}
        with source.open("rb") as body:
            self._client().put_object(Body=body, **arguments, **extra)

    def _accept_existing(self, head: dict[str, Any], digests: Digests) -> None:
        """An object is already under the name: keep it if it is the same, else refuse."""
        recorded = (head.get("Metadata") or {}).get("sha256")
        size = head.get("ContentLength")
        if size == digests.size and recorded == digests.sha256:
            return
        if size == digests.size and recorded is None:
            # Written by another tool without our metadata: its bytes decide.
            self.verify(digests.sha256)
            return
        raise IntegrityError(
            f"object {digests.sha256} is already in {self.s3.url} with other content "
            f"({size} bytes, recorded SHA-256 {recorded or 'none'}); it was not overwritten",
            hint="run 'evidence store check' and restore the object from a backup",
        )

    def _retention(self) -> dict[str, Any]:
        policy = self.settings.object_lock
        if policy is ObjectLockPolicy.OFF:
            return {}
        if not self.object_lock_enabled():
            if policy is ObjectLockPolicy.REQUIRE:
                raise StoreError(
                    f"bucket {self.s3.bucket} has no S3 Object Lock and "
                    "EVIDENCE_S3_OBJECT_LOCK=require: nothing was written",
                    hint="create the bucket with Object Lock enabled (docs/storage.md)",
                )
            return {}
        until = self._clock() + timedelta(days=self.settings.retention_days)
        return {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until}

    def object_lock_enabled(self) -> bool:
        """Whether the bucket has S3 Object Lock enabled (asked once)."""
        if self._lock_enabled is None:
            from botocore.exceptions import ClientError

            try:
                with self._s3_errors("reading the bucket's Object Lock configuration"):
                    answer = self._client().get_object_lock_configuration(Bucket=self.s3.bucket)
                config = answer.get("ObjectLockConfiguration") or {}
                self._lock_enabled = config.get("ObjectLockEnabled") == "Enabled"
            except StoreError as exc:
                cause = exc.__cause__
                if not isinstance(cause, ClientError) or _code(cause) not in _LOCK_ABSENT_CODES:
                    raise
                self._lock_enabled = False
        return self._lock_enabled

    def ensure_bucket(self, *, object_lock: bool = True) -> bool:
        """Create the bucket when it does not exist (with Object Lock); True if created."""
        from botocore.exceptions import ClientError

        try:
            with self._s3_errors(f"looking up bucket {self.s3.bucket}"):
                self._client().head_bucket(Bucket=self.s3.bucket)
            return False
        except StoreError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ClientError) or _code(cause) not in ("404", "NoSuchBucket"):
                raise
        with self._s3_errors(f"creating bucket {self.s3.bucket}"):
            self._client().create_bucket(
                Bucket=self.s3.bucket, ObjectLockEnabledForBucket=object_lock
            )
        self._lock_enabled = None
        return True

    # -- reads ---------------------------------------------------------------

    def contains(self, sha256: str) -> bool:
        return self._head(self.key_for(sha256), sha256) is not None

    def open(self, sha256: str) -> BinaryIO:
        cached = self._cache.lookup(sha256) if is_sha256_hex(sha256) else None
        if cached is not None:
            return _verified_stream(cached.open("rb"), sha256, None, self.s3.url)
        body, size = self._get(sha256)
        return _verified_stream(body, sha256, size, self.s3.url)

    def read_bytes(self, sha256: str) -> bytes:
        with self.open(sha256) as stream:
            return stream.read()

    def verify(self, sha256: str) -> Digests:
        """Read the object back from the server (never the cache) and re-hash it."""
        body, size = self._get(sha256)
        hasher = DualHasher()
        with _verified_stream(body, sha256, size, self.s3.url) as stream:
            while chunk := stream.read(CHUNK_SIZE):
                hasher.update(chunk)
        return hasher.finalize()

    def path_for(self, sha256: str) -> Path:
        """A verified local copy of the object (fetched into the read cache when needed)."""
        self.key_for(sha256)
        cached = self._cache.lookup(sha256)
        if cached is not None:
            return cached
        body, size = self._get(sha256)
        with _verified_stream(body, sha256, size, self.s3.url) as stream:
            try:
                spooled, _ = self._cache.spool(iter(lambda: stream.read(CHUNK_SIZE), b""))
            except OSError as exc:
                raise StoreError(f"cannot write the read cache {self.root}: {exc}") from exc
        try:
            return self._cache.adopt(spooled, sha256)
        finally:
            spooled.unlink(missing_ok=True)

    def intact_version(self, sha256: str) -> str | None:
        """On a versioned (Object Lock) bucket: the id of an older version of the object whose
        bytes still hash to its name, when the current one is damaged; else None."""
        key = self.key_for(sha256)
        with self._s3_errors(f"listing the versions of object {sha256}"):
            answer = self._client().list_object_versions(Bucket=self.s3.bucket, Prefix=key)
        for version in answer.get("Versions", ()):
            if version.get("Key") != key or version.get("IsLatest"):
                continue
            version_id = str(version["VersionId"])
            with self._s3_errors(f"reading version {version_id} of object {sha256}", sha256):
                body = self._client().get_object(
                    Bucket=self.s3.bucket, Key=key, VersionId=version_id
                )
            try:
                with _verified_stream(body["Body"], sha256, None, self.s3.url) as stream:
                    while stream.read(CHUNK_SIZE):
                        pass
            except IntegrityError:
                continue
            return version_id
        return None

    def stored_digests(self) -> Iterator[str]:
        prefix = self._objects_prefix
        with self._s3_errors("listing the objects"):
            pages = self._client().get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.s3.bucket, Prefix=prefix):
                for entry in page.get("Contents", ()):
                    shard, _, name = entry["Key"][len(prefix) :].partition("/")
                    if is_sha256_hex(name) and name[:2] == shard:
                        yield name

    def _head(self, key: str, sha256: str) -> dict[str, Any] | None:
        try:
            with self._s3_errors(f"looking up object {sha256}", sha256):
                answer: dict[str, Any] = self._client().head_object(Bucket=self.s3.bucket, Key=key)
                return answer
        except NotFoundError:
            return None

    def _get(self, sha256: str) -> tuple[Any, int]:
        key = self.key_for(sha256)
        with self._s3_errors(f"reading object {sha256}", sha256):
            answer = self._client().get_object(Bucket=self.s3.bucket, Key=key)
        return answer["Body"], int(answer.get("ContentLength", -1))

    # -- the client and its errors -------------------------------------------

    def _client(self) -> Any:
        with self._client_lock:
            if self._client_obj is None:
                self._client_obj = _make_client(self.settings)
            return self._client_obj

    @contextlib.contextmanager
    def _s3_errors(self, what: str, sha256: str | None = None) -> Iterator[None]:
        """botocore's failures as the toolkit's: one line, no credentials in it."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        try:
            yield
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise ConfigurationError(
                f"no credentials for the object store {self.location}: set AWS_ACCESS_KEY_ID "
                "and AWS_SECRET_ACCESS_KEY, or an AWS profile"
            ) from exc
        except ClientError as exc:
            code = _code(exc)
            if code in _MISSING_CODES and sha256 is not None:
                raise NotFoundError(f"object {sha256} is missing from {self.s3.url}") from exc
            if code in ("NoSuchBucket",) or (code in _MISSING_CODES and sha256 is None):
                raise StoreError(f"bucket {self.s3.bucket} does not exist ({what})") from exc
            if code in _DENIED_CODES:
                raise StoreError(
                    f"{self.location} refused access while {what}: check the access key "
                    "and the secret (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
                ) from exc
            message = exc.response.get("Error", {}).get("Message", "")
            raise StoreError(f"{self.location} refused {what}: {code} {message}".strip()) from exc
        except BotoCoreError as exc:
            raise StoreError(
                f"cannot reach the object store {self.location} while {what} "
                f"({type(exc).__name__}); nothing was changed"
            ) from exc


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _make_client(settings: StoreSettings) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=settings.region,
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        s3={"addressing_style": "path"} if settings.endpoint_url else {},
        # The SHA-256 checksum is sent explicitly; no CRC trailer besides.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    credentials = settings.credentials
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
        config=config,
    )


class _VerifyingReader(io.RawIOBase):
    """Passes bytes through, hashing them; at the end, raises IntegrityError on a mismatch."""

    def __init__(self, source: Any, sha256: str, size: int | None, where: str) -> None:
        super().__init__()
        self._source = source
        self._sha256 = sha256
        self._size = size if size is not None and size >= 0 else None
        self._where = where
        self._hash = hashlib.sha256()
        self._seen = 0
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._source.read(len(view))
        except Exception as exc:
            raise StoreError(
                f"reading object {self._sha256} from {self._where} failed midway "
                f"({type(exc).__name__})"
            ) from exc
        if not data:
            self._check()
            return 0
        self._hash.update(data)
        self._seen += len(data)
        view[: len(data)] = data
        return len(data)

    def _check(self) -> None:
        if self._checked:
            return
        self._checked = True
        if self._hash.hexdigest() != self._sha256 or (
            self._size is not None and self._seen != self._size
        ):
            raise IntegrityError(
                f"stored object {self._sha256} in {self._where} no longer matches its SHA-256"
            )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._source.close()
        super().close()


def _verified_stream(source: Any, sha256: str, size: int | None, where: str) -> BinaryIO:
    return io.BufferedReader(_VerifyingReader(source, sha256, size, where), CHUNK_SIZE)
