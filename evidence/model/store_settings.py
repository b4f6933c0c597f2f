"""Where the artifact store lives: the local data directory (default) or an S3 bucket.

``EVIDENCE_STORE_URL=s3://bucket/prefix`` moves the artifacts of every item to
an S3-compatible object store (SeaweedFS, MinIO, Ceph, AWS). The endpoint and
credentials come from the environment the way every S3 tool reads them; the
secret key is withdrawn from the process environment by the command line like
every other secret (:mod:`evidence.model.secrets`) and is never printed.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from evidence.model.errors import ConfigurationError

ENV_STORE_URL = "EVIDENCE_STORE_URL"
ENV_S3_ENDPOINT = "EVIDENCE_S3_ENDPOINT"
ENV_S3_REGION = "EVIDENCE_S3_REGION"
ENV_S3_OBJECT_LOCK = "EVIDENCE_S3_OBJECT_LOCK"
ENV_S3_RETENTION_DAYS = "EVIDENCE_S3_RETENTION_DAYS"
ENV_STORE_CACHE_MB = "EVIDENCE_STORE_CACHE_MB"
ENV_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
ENV_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
ENV_SESSION_TOKEN = "AWS_SESSION_TOKEN"
ENV_AWS_REGION = "AWS_DEFAULT_REGION"

DEFAULT_RETENTION_DAYS = 3650
DEFAULT_CACHE_MB = 2048

# S3 bucket naming rules (3-63 characters, lowercase letters, digits, dots, hyphens).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_PREFIX_PART = re.compile(r"^[A-Za-z0-9._\-]+$")


class ObjectLockPolicy(enum.StrEnum):
    """``EVIDENCE_S3_OBJECT_LOCK``: what to do about S3 Object Lock."""

    AUTO = "auto"
    """Lock every object in COMPLIANCE mode when the bucket has Object Lock enabled."""
    REQUIRE = "require"
    """Refuse to write to a bucket without Object Lock."""
    OFF = "off"
    """Never send retention headers (write-once is still enforced by the toolkit)."""


class StoreKind(enum.StrEnum):
    LOCAL = "local"
    S3 = "s3"


@dataclass(frozen=True, slots=True)
class S3Location:
    """A bucket and a key prefix (no leading or trailing slash; may be empty)."""

    bucket: str
    prefix: str = ""

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @classmethod
    def parse(cls, url: str) -> S3Location:
        """``s3://bucket[/prefix]``; anything else is a ConfigurationError naming the rule."""
        scheme, sep, rest = url.strip().partition("://")
        if scheme.lower() != "s3" or not sep:
            raise ConfigurationError(f"not an s3:// store URL: {url!r} (use s3://bucket/prefix)")
        bucket, _, prefix = rest.partition("/")
        if "@" in bucket or ":" in bucket:
            raise ConfigurationError(
                "the store URL must not carry credentials or a port: "
                f"set {ENV_S3_ENDPOINT} and {ENV_ACCESS_KEY_ID}/{ENV_SECRET_ACCESS_KEY}"
            )
        if not _BUCKET.match(bucket):
            raise ConfigurationError(
                f"{bucket!r} is not a valid bucket name (3-63 lowercase letters, digits, . or -)"
            )
        parts = [p for p in prefix.split("/") if p]
        if any(p in (".", "..") or not _PREFIX_PART.match(p) for p in parts):
            raise ConfigurationError(
                f"the key prefix {prefix!r} may use letters, digits, '.', '_' and '-' only"
            )
        return cls(bucket=bucket, prefix="/".join(parts))


@dataclass(frozen=True, slots=True)
class S3Credentials:
    """Static credentials; both ``None`` means boto3's own chain (profile, credentials file)."""

    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """``store.*``: which backend holds the artifacts, and how it is reached."""

    location: S3Location | None = None
    """``EVIDENCE_STORE_URL``; ``None`` keeps the local store under the data directory."""
    endpoint_url: str | None = field(default=None, repr=False)
    """``EVIDENCE_S3_ENDPOINT`` (``http://127.0.0.1:8333``); unset: AWS itself."""
    region: str = "us-east-1"
    credentials: S3Credentials = field(default_factory=S3Credentials, repr=False)
    object_lock: ObjectLockPolicy = ObjectLockPolicy.AUTO
    retention_days: int = DEFAULT_RETENTION_DAYS
    """``EVIDENCE_S3_RETENTION_DAYS``: COMPLIANCE retention given to each new object."""
    cache_mb: int = DEFAULT_CACHE_MB
    """``EVIDENCE_STORE_CACHE_MB``: bound of the local read cache of an S3 store."""

    @property
    def kind(self) -> StoreKind:
        return StoreKind.LOCAL if self.location is None else StoreKind.S3

    def with_target(self, url: str, endpoint_url: str | None = None) -> StoreSettings:
        """These settings pointed at another S3 location (and endpoint, when given)."""
        return StoreSettings(
            location=S3Location.parse(url),
            endpoint_url=endpoint_url or self.endpoint_url,
            region=self.region,
            credentials=self.credentials,
            object_lock=self.object_lock,
            retention_days=self.retention_days,
            cache_mb=self.cache_mb,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StoreSettings:
        url = (env.get(ENV_STORE_URL) or "").strip()
        location = None
        if url and url.lower() not in ("local", "file"):
            location = S3Location.parse(url)
        raw_lock = (env.get(ENV_S3_OBJECT_LOCK) or ObjectLockPolicy.AUTO.value).strip().lower()
        try:
            lock = ObjectLockPolicy(raw_lock)
        except ValueError:
            raise ConfigurationError(
                f"{ENV_S3_OBJECT_LOCK}={raw_lock!r}: use auto, require or off"
            ) from None
        key_id = env.get(ENV_ACCESS_KEY_ID) or None
        secret = env.get(ENV_SECRET_ACCESS_KEY) or None
        if (key_id is None) != (secret is None):
            raise ConfigurationError(
                f"set both {ENV_ACCESS_KEY_ID} and {ENV_SECRET_ACCESS_KEY}, or neither "
                "(then the AWS credentials file or profile is used)"
            )
        return cls(
            location=location,
            endpoint_url=env.get(ENV_S3_ENDPOINT) or None,
            region=env.get(ENV_S3_REGION) or env.get(ENV_AWS_REGION) or "us-east-1",
            credentials=S3Credentials(key_id, secret, env.get(ENV_SESSION_TOKEN) or None),
            object_lock=lock,
            retention_days=_whole(env, ENV_S3_RETENTION_DAYS, DEFAULT_RETENTION_DAYS),
            cache_mb=_whole(env, ENV_STORE_CACHE_MB, DEFAULT_CACHE_MB),
        )


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise ConfigurationError(f"{name} must be at least 1, got {value}")
    return value
