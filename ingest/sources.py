"""Where partner files come from: local paths and `s3://` keys, prefixes and globs.

S3 is reached through boto3 with the standard AWS settings (AWS_ENDPOINT_URL, region,
credentials), so a moto server or any S3-compatible store works by setting the endpoint. Spark
in local mode has no S3 connector, so objects are staged to local disk (ranged parts streamed
through the checksums and gunzip, size and ETag checked) and Spark reads the copy; the ledger
records the object's URI.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import queue
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isal import isal_zlib

from ingest.errors import SourceError

S3_SCHEME = "s3://"
# Parts of a multipart transfer; S3's ETag of a multipart upload depends on the part size.
# 64 MiB: moto serves a range request by slicing the whole object, so fewer, larger parts
# (measured 233 MiB/s with 8 MiB parts, 463 MiB/s with 64 MiB, on a 43 MiB object).
TRANSFER_CHUNK_BYTES = 64 * 1024 * 1024
READ_BYTES = 4 * 1024 * 1024
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


@dataclass(frozen=True)
class LocalCopy:
    """A delivered file ready for Spark: where to read it and the delivery's checksums."""

    path: Path  # the file itself, or its decompressed copy when it was gzip
    sha256: str  # of the bytes as delivered: identifies a re-delivery in the batch ledger
    etag: str  # the S3 ETag those bytes would have with the given part size ("": not asked)
    size: int  # bytes as delivered
    has_quotes: bool | None = None  # whether the copy holds a `"` (None: not looked at)


class _EtagDigest:
    """S3's ETag of bytes uploaded in parts of `part_size` (None: one part, a plain MD5)."""

    def __init__(self, part_size: int | None) -> None:
        self.part_size = part_size
        self.parts: list[bytes] = []
        self.current = hashlib.md5(usedforsecurity=False)
        self.filled = 0

    def update(self, data: bytes) -> None:
        while data:
            room = self.part_size - self.filled if self.part_size else len(data)
            taken, data = data[:room], data[room:]
            self.current.update(taken)
            self.filled += len(taken)
            if self.part_size and self.filled == self.part_size:
                self.parts.append(self.current.digest())
                self.current, self.filled = hashlib.md5(usedforsecurity=False), 0

    def hexdigest(self) -> str:
        parts = self.parts + ([self.current.digest()] if self.filled or not self.parts else [])
        if not self.part_size:
            return parts[0].hex()
        if len(parts) == 1:
            return parts[0].hex()
        return f"{hashlib.md5(b''.join(parts), usedforsecurity=False).hexdigest()}-{len(parts)}"


class _Gunzip:
    """Streaming gzip decompression that follows concatenated members and notices truncation.

    ISA-L's inflate (python-isal, zlib's API) is ~2x zlib's: the benchmark's 1.07 GB gzip
    took 6.0 s instead of 13.0 s on one core, and this pass is the whole of local staging.
    """

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.inflater = isal_zlib.decompressobj(wbits=31)

    def feed(self, data: bytes) -> bytes:
        out = []
        try:
            while data:
                out.append(self.inflater.decompress(data))
                data = self.inflater.unused_data if self.inflater.eof else b""
                if data:
                    self.inflater = isal_zlib.decompressobj(wbits=31)
        except isal_zlib.error:
            raise SourceError(self.uri, "the gzip stream is corrupt; ask for a new copy") from None
        return b"".join(out)

    def finish(self) -> bytes:
        if not self.inflater.eof:
            raise SourceError(
                self.uri, "the gzip stream is truncated or corrupt; ask for a new copy"
            )
        return self.inflater.flush()


class _CopyWriter:
    """Writes the copy on a thread of its own, so the next part is inflated while this one is
    written (a file write releases the GIL). Writing the benchmark's 2.35 GB copy took ~6 s of
    a 14.5 s staging pass on one thread; beside the inflate the pass took 8-10 s.

    A write error is kept and raised by `finish`; `close` never raises, so an error already
    under way is not masked, and it never blocks: the thread drains the queue whatever happens.
    """

    def __init__(self, path: Path) -> None:
        self.handle = path.open("wb")
        self.parts: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._drain, name="delivery-copy", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while (part := self.parts.get()) is not None:
            if self.error is None:
                try:
                    self.handle.write(part)
                except BaseException as error:  # kept for finish(): disk full, I/O error
                    self.error = error

    def write(self, part: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.parts.put(part)

    def close(self) -> None:
        if self.thread.is_alive():
            self.parts.put(None)
            self.thread.join()
        self.handle.close()

    def finish(self) -> None:
        self.close()
        if self.error is not None:
            raise self.error


class _DeliveryPass:
    """The one pass over a delivery's bytes, in order, as they arrive (a file-like sink).

    It computes the SHA-256 (the ledger's checksum) and, for an S3 object, its ETag, and
    writes the copy Spark reads to `copy_to`: decompressed when `gunzip` (Spark cannot split
    a gzip file, so one big file would be parsed on one core), else as delivered.
    """

    def __init__(
        self,
        uri: str,
        *,
        copy_to: Path | None,
        gunzip: bool,
        etag: _EtagDigest | None,
    ) -> None:
        self.sha = hashlib.sha256()
        self.etag = etag
        self.gunzip = _Gunzip(uri) if gunzip else None
        self.sink = _CopyWriter(copy_to) if copy_to is not None else None
        self.size = 0
        # Spark's copy is plain text unless it is a gzip file read as it is
        self.has_quotes: bool | None = None if uri.endswith(".gz") and not gunzip else False

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        if self.etag is not None:
            self.etag.update(data)
        self.size += len(data)
        plain = self.gunzip.feed(data) if self.gunzip is not None else data
        self._copy(plain)
        return len(data)

    def _copy(self, plain: bytes) -> None:
        """Write decoded bytes to the copy, noting a quote character on the way."""
        if self.has_quotes is False and b'"' in plain:
            self.has_quotes = True
        if self.sink is not None:
            self.sink.write(plain)

    def finish(self, path: Path) -> LocalCopy:
        """Check the gzip stream ended; the copy at `path` and the checksums."""
        if self.sink is not None and self.gunzip is not None:
            self._copy(self.gunzip.finish())
        if self.sink is not None:
            self.sink.finish()
        etag = self.etag.hexdigest() if self.etag is not None else ""
        return LocalCopy(path, self.sha.hexdigest(), etag, self.size, self.has_quotes)

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()


def read_delivery(path: Path, *, uri: str, unpack_to: Path | None) -> LocalCopy:
    """Read a delivered local file once: its checksums and (gzip) a decompressed copy.

    A truncated or corrupt gzip stream is a SourceError.
    """
    gunzip = unpack_to is not None and path.name.endswith(".gz")
    target = path
    if gunzip and unpack_to is not None:
        unpack_to.mkdir(parents=True, exist_ok=True)
        target = unpack_to / path.name.removesuffix(".gz")
    # A local file has no ETag to compare with: its MD5 would cost ~2 s per GB for nothing.
    delivery = _DeliveryPass(uri, copy_to=target if gunzip else None, gunzip=gunzip, etag=None)
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(READ_BYTES):
                delivery.write(chunk)
        return delivery.finish(target)
    finally:
        delivery.close()


def download_config() -> Any:
    """boto3's transfer settings for staging a delivery: 64 MiB ranged parts, two in flight.

    Two are enough: the one pass (SHA-256, MD5, gunzip) takes ~55 MB/s of gzip on one core,
    and each part that arrives early waits in memory (64 MiB at most). Against moto, 2 in
    flight staged the benchmark's 1.07 GB in 19.6 s, 4 in flight 21.6 s.
    """
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=TRANSFER_CHUNK_BYTES,
        multipart_chunksize=TRANSFER_CHUNK_BYTES,
        max_concurrency=2,
    )


def stage_s3_object(source: SourceFile, folder: Path, client: Any | None = None) -> LocalCopy:
    """Download an object into `folder` and read it in the same pass: the local copy Spark
    reads (decompressed when it is gzip), checked against S3's size and ETag.

    Ranged parts download in parallel and reach the pass in order (boto3 buffers the ones
    that arrive early), so the checksums and gunzip run while the rest downloads, and no
    compressed copy is written to disk.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_s3_uri(source.uri)
    client = client or s3_client()
    folder.mkdir(parents=True, exist_ok=True)
    gunzip = source.name.endswith(".gz")
    target = folder / source.name.removesuffix(".gz") if gunzip else folder / source.name
    config = download_config()
    try:
        head = client.head_object(Bucket=bucket, Key=key)
        etag = str(head.get("ETag", "")).strip('"')
        part_size = None
        if "-" in etag:  # a multipart upload: its ETag depends on the uploader's part size
            first = client.head_object(Bucket=bucket, Key=key, PartNumber=1)
            part_size = int(first["ContentLength"])
        delivery = _DeliveryPass(
            source.uri, copy_to=target, gunzip=gunzip, etag=_EtagDigest(part_size)
        )
        try:
            client.download_fileobj(bucket, key, delivery, Config=config)
            expected = int(head["ContentLength"])
            if delivery.size != expected:
                raise SourceError(
                    source.uri, f"download incomplete: {delivery.size} of {expected} bytes"
                )
            copy = delivery.finish(target)
        finally:
            delivery.close()
    except (ClientError, BotoCoreError) as error:
        raise _s3_error(source.uri, error) from None
    # SSE-KMS objects have ETags that are not an MD5 of the bytes: those are not compared.
    if etag and len(etag.split("-", 1)[0]) == 32 and copy.etag != etag:
        raise SourceError(source.uri, "download corrupt: the local checksum differs from S3's ETag")
    return copy


def s3_fingerprint(source: SourceFile, client: Any | None = None) -> str:
    """`etag:<ETag>:<size>`: identifies a delivery without downloading it (cluster reads)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_s3_uri(source.uri)
    client = client or s3_client()
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as error:
        raise _s3_error(source.uri, error) from None
    return f"etag:{str(head.get('ETag', '')).strip(chr(34))}:{head['ContentLength']}"


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
