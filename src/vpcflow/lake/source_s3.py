"""Flow log objects in an S3 bucket: `vpcflow ingest s3://bucket/prefix/ --lake DIR`.

    source = S3Source("s3://my-flow-logs/AWSLogs/123456789012/vpcflowlogs/", AwsSettings(region="eu-west-1"))

Listing: ListObjectsV2 through boto3's paginator (1,000 keys a page), in S3's key order. Each object is
a `SourceObject` with key `s3://bucket/key`, its size and its ETag, so the lake's manifest knows it
by AWS's file name and ingests incrementally by ETag.

Reading: the ingest tells the source which objects it will read (it calls `local_path` for each, in
order, before reading them); the source then downloads a few of them at once on a small thread pool
while the reader parses the previous ones. Objects up to `SPILL_BYTES` are held in memory, bigger
ones in an anonymous temporary file, so at most `workers` downloads are held at any time.

Failures never stop the other objects by themselves:
- An object deleted (NoSuchKey) or replaced (its ETag changed: GetObject with If-Match fails with
  PreconditionFailed) between listing and reading is skipped with a warning; it reads as an empty flow
  log (a header line, no records), so the manifest keeps it with no records, which the lake reads
  again if it is listed again.
- Any other error (AccessDenied, throttling beyond the retries, a broken connection) makes the object
  unreadable: the reader reports it like a damaged file, which `--on-error` then decides (stop, or
  count it and go on).
- Throttling (SlowDown, 503) is retried with back-off by botocore (see aws_session.py).

Keys skipped while listing (our choice, as AWS writes no flow logs there): folder markers (keys
ending in `/`) and other AWS services' logs that share the `AWSLogs/<account>/` prefix (CloudTrail,
ELB, ...), i.e. keys with an `AWSLogs/<account>/<service>/` part whose service is not `vpcflowlogs`.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from isal import igzip

from vpcflow.aws_session import AwsSettings, aws_errors, describe_error, error_code
from vpcflow.errors import InputError
from vpcflow.lake.sources import SourceObject
from vpcflow.records.formats import LogFormat

log = logging.getLogger("vpcflow.aws")

SPILL_BYTES = 32 << 20
INFLATE_BYTES = 8 << 20  # gzip objects up to this size are inflated on the download thread
WORKERS = 8
_OTHER_SERVICE = re.compile(r"(?:^|/)AWSLogs/(?:\d{12}|aws-account-id=\d{12})/(?!vpcflowlogs/|aws-service=vpcflowlogs/)[^/]+/")
# What a vanished object reads as: AWS's header line and no records.
VANISHED = (LogFormat.default().header + "\n").encode()


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://bucket[/prefix]`."""
    if not url.startswith("s3://"):
        raise InputError("not an S3 URL; write s3://bucket/prefix/", source=url)
    bucket, _, prefix = url[5:].partition("/")
    if not bucket:
        raise InputError("no bucket name; write s3://bucket/prefix/", source=url)
    return bucket, prefix


class S3Source:
    """Every object below an S3 prefix (a `vpcflow.lake.Source`)."""

    def __init__(
        self,
        url: str,
        settings: AwsSettings | None = None,
        *,
        workers: int = WORKERS,
        window: tuple[int | None, int | None] = (None, None),
        client=None,
    ):
        self.name = url
        self.bucket, self.prefix = parse_s3_url(url)
        self.settings = settings or AwsSettings()
        self.client = client or self.settings.client("s3", connections=workers + 2)
        self.window = window  # [since, until) in UTC seconds: keys naming a window outside are left out
        self.workers = max(1, workers)
        self.warnings: list[str] = []
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._wanted: list[SourceObject] = []  # objects the ingest will open, in its order
        self._next = 0  # index in _wanted of the next object to be opened
        self._downloads: dict[str, Future] = {}

    # -- listing -------------------------------------------------------------------------------

    def objects(self) -> Iterator[SourceObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", ()):
                    key = item["Key"]
                    if key.endswith("/") or _OTHER_SERVICE.search(key):
                        continue
                    obj = SourceObject(
                        f"s3://{self.bucket}/{key}", int(item["Size"]), etag=item.get("ETag", "").strip('"') or None
                    )
                    if self._in_window(obj):
                        yield obj
        except aws_errors() as exc:
            raise InputError(
                f"cannot list the objects: {self.settings.redact(describe_error(exc))}"
                + _hint(error_code(exc)),
                source=self.name,
            ) from None

    def _in_window(self, obj: SourceObject) -> bool:
        since, until = self.window
        if since is None and until is None:
            return True
        info = obj.info
        if info is None or info.stamp is None or info.aws_name is None:
            return True  # no window in the key: kept, the records' own times partition them
        stamp = info.stamp  # the start of the file's 5-minute window of end times
        return (since is None or stamp + 300 > since) and (until is None or stamp < until)

    # -- reading -------------------------------------------------------------------------------

    def local_path(self, obj: SourceObject) -> str | None:
        # Not a local file; but the ingest asks for each object it is about to read, in order,
        # which is exactly the read-ahead list the downloads need.
        with self._lock:
            self._wanted.append(obj)
        return None

    def open(self, obj: SourceObject) -> BinaryIO:
        with self._lock:
            if self._next < len(self._wanted) and self._wanted[self._next].key == obj.key:
                self._next += 1
                for ahead in self._wanted[self._next - 1 : self._next - 1 + self.workers]:
                    self._start(ahead)
            future = self._downloads.pop(obj.key, None)
        if future is None:
            return self._download(obj)
        return future.result()

    def _start(self, obj: SourceObject) -> None:
        if obj.key not in self._downloads:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="vpcflow-s3")
            self._downloads[obj.key] = self._pool.submit(self._download, obj)

    def _download(self, obj: SourceObject) -> BinaryIO:
        key = obj.key[len(f"s3://{self.bucket}/") :]
        request = {"Bucket": self.bucket, "Key": key}
        if obj.etag:
            request["IfMatch"] = f'"{obj.etag}"'
        try:
            body = self.client.get_object(**request)["Body"]
            try:
                return _Body.read_from(body, obj)
            finally:
                body.close()
        except aws_errors() as exc:
            code = error_code(exc)
            if code in ("NoSuchKey", "404", "PreconditionFailed", "412"):
                what = "was deleted" if code in ("NoSuchKey", "404") else "was replaced"
                message = f"{obj.key}: {what} after it was listed; skipped (it is read if it is listed again)"
                self.warnings.append(message)
                log.warning("warning: %s", message)
                return _Body(VANISHED, obj.key)
            return _Unreadable(obj.key, "cannot download: " + self.settings.redact(describe_error(exc)))
        except OSError as exc:
            return _Unreadable(obj.key, f"cannot download: {exc}")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        for future in self._downloads.values():
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result().close()
        self._downloads.clear()


def _hint(code: str | None) -> str:
    return {
        "NoSuchBucket": "; check the bucket name (and --endpoint-url, if you use one)",
        "AccessDenied": "; the credentials need s3:ListBucket on the bucket and s3:GetObject on its objects",
        "InvalidAccessKeyId": "; check the credentials (--profile, AWS_PROFILE, AWS_ACCESS_KEY_ID)",
        "SignatureDoesNotMatch": "; check the credentials (--profile, AWS_PROFILE, AWS_ACCESS_KEY_ID)",
    }.get(code or "", "")


class _Body(io.BytesIO):
    """A downloaded object, named by its key (what the reader's messages show)."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name

    @staticmethod
    def read_from(body, obj: SourceObject) -> BinaryIO:
        if obj.size <= INFLATE_BYTES:
            return _inflated(body.read(), obj.key)
        if obj.size <= SPILL_BYTES:
            return _Body(body.read(), obj.key)
        fd, path = tempfile.mkstemp(prefix="vpcflow-s3-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(body, out, 1 << 20)
            raw = io.FileIO(path, "r")
        finally:
            os.unlink(path)  # the open file keeps its bytes until closed
        raw.name = obj.key
        return io.BufferedReader(raw, 1 << 20)


def _inflated(data: bytes, name: str) -> BinaryIO:
    """A small gzip object inflated here, on the download thread (ISA-L releases the GIL), so the
    reader's thread only parses. Damaged data becomes an unreadable object; a stream cut short goes
    to the reader whole, which keeps its complete lines."""
    if data[:2] != b"\x1f\x8b":
        return _Body(data, name)
    try:
        return _Body(igzip.decompress(data), name)
    except EOFError:
        return _Body(data, name)
    except Exception as exc:  # noqa: BLE001 - zlib.error, gzip.BadGzipFile, isal's IsalError
        return _Unreadable(name, f"damaged gzip data: {exc}")


class _Unreadable(io.RawIOBase):
    """An object that cannot be read: reading it raises an InputError that `--on-error` handles."""

    def __init__(self, name: str, reason: str):
        super().__init__()
        self.name, self.reason = name, reason

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        raise InputError(self.reason, source=self.name)

    def readinto(self, buffer) -> int:
        raise InputError(self.reason, source=self.name)
