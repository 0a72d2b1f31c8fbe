"""Where delivered flow logs go: the seam between delivery (keys, streams, bytes) and storage.

`LocalBuckets` puts S3 objects under `root/s3/<bucket>/<key>` and `LocalLogGroups` puts CloudWatch
Logs streams under `root/logs/<log group>/<stream>.jsonl`. Real S3 and CloudWatch Logs sinks (a later
`--out s3://...`) implement the same two protocols.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Protocol


class ObjectSink(Protocol):
    """An S3-like store: objects written whole under a bucket and key."""

    def open(self, bucket: str, key: str) -> BinaryIO: ...

    def path(self, bucket: str, key: str) -> str: ...

    def finish(self, bucket: str, key: str, delivered_at: int) -> None: ...


class StreamSink(Protocol):
    """A CloudWatch Logs-like store: JSON-lines events appended to a stream of a log group."""

    def append(self, group: str, stream: str, lines: bytes) -> None: ...


class LocalBuckets:
    """S3 objects as files: `root/s3/<bucket>/<key>`; a file's mtime is its simulated delivery time."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def bucket_root(self, bucket: str) -> Path:
        return self.root / "s3" / bucket

    def path(self, bucket: str, key: str) -> str:
        return str(self.bucket_root(bucket) / key)

    def open(self, bucket: str, key: str) -> BinaryIO:
        target = Path(self.path(bucket, key))
        target.parent.mkdir(parents=True, exist_ok=True)
        return open(target, "wb")  # noqa: SIM115 - the caller closes it

    def finish(self, bucket: str, key: str, delivered_at: int) -> None:
        # S3's Last-Modified is the upload time, later than the file name's window (flowlogs.md §4.2)
        os.utime(self.path(bucket, key), (delivered_at, delivered_at))


class LocalLogGroups:
    """CloudWatch Logs streams as files: `root/logs/<log group>/<stream>.jsonl` (one event a line)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def group_dir(self, group: str) -> Path:
        # log group names may hold '/' (e.g. /aws/vpc/flow-logs): kept as folders
        return self.root / "logs" / group.strip("/")

    def stream_path(self, group: str, stream: str) -> Path:
        return self.group_dir(group) / f"{stream}.jsonl"

    def append(self, group: str, stream: str, lines: bytes) -> None:
        target = self.stream_path(group, stream)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "ab") as out:
            out.write(lines)
