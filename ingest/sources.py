"""Where partner files come from: local paths and `s3://` keys, prefixes and globs.

S3 is reached through boto3 with the standard AWS settings (AWS_ENDPOINT_URL, region,
credentials), so a moto server or any S3-compatible store works by setting the endpoint. Spark
in local mode has no S3 connector, so objects are staged to local disk (multipart download,
size and ETag checked) and Spark reads the copy; the ledger records the object's URI.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import SourceError

S3_SCHEME = "s3://"
# Parts of a multipart download; S3's ETag of a multipart upload depends on the part size.
TRANSFER_CHUNK_BYTES = 8 * 1024 * 1024
HIDDEN_PREFIXES = (".", "_")


@dataclass(frozen=True)
class SourceFile:
    """One file to ingest: the URI the user named and its size in bytes."""

    uri: str
    size: int

    @property
    def is_s3(self) -> bool:
        return is_s3_uri(self.uri)

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]


def is_s3_uri(uri: str) -> bool:
    return uri.startswith(S3_SCHEME)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/key` -> (`bucket`, `some/key`)."""
    bucket, _, key = uri.removeprefix(S3_SCHEME).partition("/")
    if not bucket:
        raise SourceError(uri, "expected s3://bucket/key, a prefix or a glob")
    return bucket, key


def s3_client() -> Any:
    """A boto3 S3 client configured only by the environment (endpoint, region, credentials)."""
    import boto3

    return boto3.client("s3")


def _visible(name: str) -> bool:
    return not name.rsplit("/", 1)[-1].startswith(HIDDEN_PREFIXES)


def list_local(uri: str) -> list[SourceFile]:
    """A file, every visible file under a folder, or the files a glob matches, sorted."""
    path = Path(uri)
    if path.is_file():
        return [SourceFile(str(path.resolve()), path.stat().st_size)]
    if path.is_dir():
        found = [p for p in sorted(path.rglob("*")) if p.is_file() and _visible(p.name)]
    else:
        found = [Path(p) for p in sorted(glob.glob(uri, recursive=True)) if Path(p).is_file()]
    if not found:
        raise SourceError(uri, "no such file, or no files in that folder or glob")
    return [SourceFile(str(p.resolve()), p.stat().st_size) for p in found]


def _s3_error(uri: str, error: Exception) -> SourceError:
    """A one-sentence error from a botocore ClientError (no stack trace for the user)."""
    response = getattr(error, "response", {}) or {}
    code = response.get("Error", {}).get("Code", type(error).__name__)
    hints = {
        "NoSuchBucket": "the bucket does not exist",
        "NoSuchKey": "the object does not exist",
        "404": "the object does not exist",
        "AccessDenied": "access denied: check the credentials and the bucket policy",
        "403": "access denied: check the credentials and the bucket policy",
    }
    return SourceError(uri, hints.get(str(code), f"S3 error {code}"))


def list_s3(uri: str, client: Any | None = None) -> list[SourceFile]:
    """An object, every object under a prefix, or the objects a glob in the key matches."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_s3_uri(uri)
    client = client or s3_client()
    wildcard = any(ch in key for ch in "*?[")
    prefix = key[: min(key.index(ch) for ch in "*?[" if ch in key)] if wildcard else key
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        objects = [item for page in pages for item in page.get("Contents", [])]
    except (ClientError, BotoCoreError) as error:
        raise _s3_error(uri, error) from None
    if wildcard:
        chosen = [o for o in objects if fnmatch.fnmatchcase(o["Key"], key)]
    else:
        exact = [o for o in objects if o["Key"] == key]
        folder = key if key.endswith("/") or not key else f"{key}/"
        chosen = exact or [o for o in objects if o["Key"].startswith(folder)]
    chosen = [o for o in chosen if _visible(o["Key"]) and not o["Key"].endswith("/")]
    if not chosen:
        raise SourceError(uri, "the object does not exist (no key, prefix or glob match)")
    return [
        SourceFile(f"{S3_SCHEME}{bucket}/{o['Key']}", int(o["Size"]))
        for o in sorted(chosen, key=lambda o: o["Key"])
    ]


def list_sources(uris: Iterable[str], client: Any | None = None) -> list[SourceFile]:
    """Every file the given paths, folders, globs, S3 keys and prefixes name, in order."""
    files: list[SourceFile] = []
    for uri in uris:
        files += list_s3(uri, client) if is_s3_uri(uri) else list_local(uri)
    seen: set[str] = set()
    return [f for f in files if not (f.uri in seen or seen.add(f.uri))]


def multipart_etag(path: Path, part_size: int) -> str:
    """The ETag S3 gives an object uploaded in parts of `part_size` bytes."""
    digests = []
    with path.open("rb") as handle:
        while chunk := handle.read(part_size):
            digests.append(hashlib.md5(chunk, usedforsecurity=False).digest())
    if len(digests) <= 1:
        return digests[0].hex() if digests else hashlib.md5(b"", usedforsecurity=False).hexdigest()
    combined = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()
    return f"{combined}-{len(digests)}"


def stage_s3_file(source: SourceFile, folder: Path, client: Any | None = None) -> Path:
    """Download an object to `folder` (multipart, in parallel) and check it arrived whole.

    The size must equal S3's ContentLength and, where S3's ETag is a content digest (not
    SSE-KMS), the local MD5 (or multipart MD5) must equal it.
    """
    from boto3.s3.transfer import TransferConfig
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_s3_uri(source.uri)
    client = client or s3_client()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(source.uri.encode()).hexdigest()[:16]}-{source.name}"
    config = TransferConfig(
        multipart_threshold=TRANSFER_CHUNK_BYTES, multipart_chunksize=TRANSFER_CHUNK_BYTES
    )
    try:
        head = client.head_object(Bucket=bucket, Key=key)
        client.download_file(bucket, key, str(target), Config=config)
    except (ClientError, BotoCoreError) as error:
        raise _s3_error(source.uri, error) from None
    size = target.stat().st_size
    if size != int(head["ContentLength"]):
        expected = int(head["ContentLength"])
        raise SourceError(source.uri, f"download incomplete: {size} of {expected} bytes")
    etag = str(head.get("ETag", "")).strip('"')
    if etag and not _etag_matches(target, etag, client, bucket, key):
        raise SourceError(source.uri, "download corrupt: the local checksum differs from S3's ETag")
    return target


def _etag_matches(path: Path, etag: str, client: Any, bucket: str, key: str) -> bool:
    if "-" not in etag:
        return file_md5(path) == etag
    part = client.head_object(Bucket=bucket, Key=key, PartNumber=1)
    return multipart_etag(path, int(part["ContentLength"])) == etag


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """The content checksum that identifies a delivery in the batch ledger."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def upload_files(
    paths: Sequence[Path], bucket: str, prefix: str, client: Any | None = None
) -> list[str]:
    """Upload local files under `s3://bucket/prefix/` (used by the demo and the benchmark)."""
    from boto3.s3.transfer import TransferConfig

    client = client or s3_client()
    config = TransferConfig(
        multipart_threshold=TRANSFER_CHUNK_BYTES, multipart_chunksize=TRANSFER_CHUNK_BYTES
    )
    uris = []
    for path in paths:
        key = f"{prefix.strip('/')}/{path.name}" if prefix.strip("/") else path.name
        client.upload_file(str(path), bucket, key, Config=config)
        uris.append(f"{S3_SCHEME}{bucket}/{key}")
    return uris


def ensure_bucket(bucket: str, client: Any | None = None) -> None:
    client = client or s3_client()
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)


def workspace_staging(root: str | os.PathLike[str]) -> Path:
    return Path(root) / ".staging"
