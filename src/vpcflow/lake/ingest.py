"""`ingest`: flow log objects into the lake, incrementally, idempotently, crash-safely.

    result = ingest([LocalSource("logs/")], "lake/")

Under the lake's lock: finish what a crashed ingest left (commit.recover), list the sources, skip
the objects the manifest already has, and read the rest in transactions of about `commit_bytes` of
input each. A transaction's records are split by partition, written (writer.TxnWriter) and published
(commit.publish); the manifest line that names its objects is written last.

Objects already ingested are known by identity (sources.SourceObject.identity). One whose size or
etag changed since is not read again, because its old records are in the lake and reading it again
would duplicate them; it is reported instead (unless it gave no records the first time, e.g. it was
unreadable then, in which case it is read again).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from vpcflow.errors import InputError, VpcflowError
from vpcflow.lake.commit import crashpoint, new_txn_id, publish, recover
from vpcflow.lake.compact import MIN_FILES, compact
from vpcflow.lake.layout import Lake, Partition
from vpcflow.lake.lock import LakeLock
from vpcflow.lake.manifest import Manifest
from vpcflow.lake.partition import split
from vpcflow.lake.sources import Source, SourceObject
from vpcflow.lake.writer import FileSizes, TxnWriter
from vpcflow.records.badrecords import BadRecord, OnError, Quarantine, ReadStats
from vpcflow.records.formats import LogFormat, resolve_format
from vpcflow.records.reader import read_many


@dataclass
class IngestOptions:
    hourly: bool = False
    log_format: str | LogFormat | None = None  # for header-less inputs (CloudWatch Logs)
    on_error: OnError = OnError.fail
    quarantine_dir: Path | None = None  # default: LAKE/_vpcflow/quarantine
    wait: float = 0.0  # seconds to wait for another ingest's lock before giving up
    sizes: FileSizes = field(default_factory=FileSizes)
    commit_bytes: int = 512 << 20  # input bytes per transaction: work a crash can lose, and file count
    compact_min_files: int = MIN_FILES  # merge a touched partition's small files when it has this many


@dataclass
class IngestResult:
    lake: Path
    objects_found: int = 0
    objects_read: int = 0
    objects_already: int = 0
    duplicates: int = 0  # objects listed more than once (the same AWS object in two folders)
    changed: list[str] = field(default_factory=list)  # keys changed since ingested, not read again
    records: int = 0
    bad: int = 0
    bytes_read: int = 0
    files_written: int = 0
    bytes_written: int = 0
    partitions: set[str] = field(default_factory=set)
    transactions: int = 0
    compacted: int = 0  # small files merged away after the ingest
    recovered: list[str] = field(default_factory=list)  # transactions of a crashed ingest, finished
    seconds: float = 0.0
    errors: list[BadRecord] = field(default_factory=list)  # the first few bad records
    error: VpcflowError | None = None  # what stopped the ingest (--on-error fail), if anything
    quarantine: Path | None = None

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


class Progress(Protocol):
    """What ingest reports as it goes (the CLI draws a progress bar from it)."""

    def start(self, objects: int, size: int) -> None: ...

    def advance(self, *, objects: int = 0, records: int = 0, size: int = 0) -> None: ...


class _PerSourceStats(ReadStats):
    """ReadStats that also count bad records per input, for the manifest."""

    def __init__(self):
        super().__init__()
        self.bad_by_source: dict[str, int] = {}

    def add_bad(self, bad: BadRecord) -> None:
        super().add_bad(bad)
        self.bad_by_source[bad.source] = self.bad_by_source.get(bad.source, 0) + 1


def ingest(
    sources: Iterable[Source],
    lake_root: str | Path,
    options: IngestOptions | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    options = options or IngestOptions()
    started = time.perf_counter()
    lake = Lake(lake_root)
    lake.prepare(hourly=options.hourly)
    result = IngestResult(lake.root)
    fmt = resolve_format(options.log_format) if options.log_format else None
    with LakeLock(lake.lock_path, wait=options.wait):
        lake.check_settings(hourly=options.hourly)
        manifest = Manifest.load(lake.manifest_path)
        result.recovered = recover(lake, manifest)
        todo = _plan(sources, manifest, result)
        if progress is not None:
            progress.start(len(todo), sum(obj.size for _, obj in todo))
        quarantine = None
        if options.on_error is OnError.quarantine:
            result.quarantine = Path(options.quarantine_dir or lake.meta / "quarantine")
            quarantine = Quarantine(result.quarantine)
        try:
            for group in _transactions(todo, options.commit_bytes):
                if not _ingest_group(lake, manifest, group, options, fmt, quarantine, progress, result):
                    break
            touched = {Partition.from_path(p) for p in result.partitions}
            result.compacted = compact(lake, manifest, touched, options.sizes, options.compact_min_files)
        finally:
            if quarantine is not None:
                quarantine.close()
    result.seconds = time.perf_counter() - started
    return result


def _plan(
    sources: Iterable[Source], manifest: Manifest, result: IngestResult
) -> list[tuple[Source, SourceObject]]:
    """The objects to read: new ones, each once even if two sources list it."""
    todo, seen = [], set()
    for source in sources:
        for obj in source.objects():
            result.objects_found += 1
            identity = obj.identity
            if identity in seen:
                result.duplicates += 1
                continue
            seen.add(identity)
            known = manifest.objects.get(identity)
            if known is None:
                todo.append((source, obj))
            elif _same(known, obj):
                result.objects_already += 1
            elif known.get("records", 0) == 0:
                todo.append((source, obj))  # nothing of it is in the lake: reading it again is safe
            else:
                result.changed.append(obj.key)
    return todo


def _same(known: dict, obj: SourceObject) -> bool:
    # S3 objects are immutable and AWS names each one uniquely, so size (and etag when both are
    # known) decide; mtime alone changes when a bucket is copied without preserving times.
    if known.get("size") != obj.size:
        return False
    return not (known.get("etag") and obj.etag and known["etag"] != obj.etag)


def _transactions(todo: list, commit_bytes: int) -> Iterator[list]:
    group, size = [], 0
    for item in todo:
        group.append(item)
        size += item[1].size
        if size >= commit_bytes:
            yield group
            group, size = [], 0
    if group:
        yield group


def _ingest_group(lake, manifest, group, options, fmt, quarantine, progress, result) -> bool:
    """Read, write and publish one transaction; False when a bad record stopped the ingest."""
    txn = new_txn_id()
    writer = TxnWriter(lake, txn, options.sizes)
    stats = _PerSourceStats()
    by_name = {}
    inputs = []
    for source, obj in group:
        local = source.local_path(obj)
        name = local if local is not None else obj.key
        by_name[name] = (source, obj)
        inputs.append(local if local is not None else _Lazy(source, obj))
    records: dict[str, int] = {name: 0 for name in by_name}
    current, reported = None, set()
    try:
        for flow, batch in read_many(
            _opened(inputs), log_format=fmt, on_error=options.on_error, stats=stats, quarantine=quarantine
        ):
            _, obj = by_name[flow.name]
            if flow.name != current:
                if current is not None:
                    reported.add(current)
                    _advance(progress, objects=1, size=by_name[current][1].size)
                current = flow.name
            info = obj.info
            fallback = obj.mtime_ns // 1_000_000_000 if obj.mtime_ns is not None else None
            for partition, piece in split(batch, flow.format.family, info, fallback, options.hourly):
                writer.add(partition, piece)
                result.partitions.add(partition.path)
            records[flow.name] += batch.num_rows
            _advance(progress, records=batch.num_rows)
        crashpoint("records-read")
        files = writer.close()
    except VpcflowError as exc:
        writer.abort()
        shutil.rmtree(lake.tmp / txn, ignore_errors=True)
        result.bad += stats.bad
        result.errors += stats.errors
        result.error = exc
        return False
    rest = [obj for name, (_, obj) in by_name.items() if name not in reported]
    _advance(progress, objects=len(rest), size=sum(obj.size for obj in rest))
    objects = [
        {
            "id": obj.identity,
            "key": obj.key,
            **obj.fingerprint,
            "records": records[name],
            "bad": stats.bad_by_source.get(name, 0),
        }
        for name, (_, obj) in by_name.items()
    ]
    publish(lake, manifest, txn, files, objects)
    result.transactions += 1
    result.objects_read += len(group)
    result.records += sum(records.values())
    result.bad += stats.bad
    result.errors += stats.errors[: max(0, 20 - len(result.errors))]
    result.bytes_read += sum(obj.size for _, obj in group)
    result.files_written += len(files)
    result.bytes_written += sum(f["bytes"] for f in files)
    return True


def _advance(progress: Progress | None, **counts) -> None:
    if progress is not None:
        progress.advance(**counts)


class _Lazy:
    """An object opened only when the reader reaches it (never hundreds of open streams at once)."""

    def __init__(self, source: Source, obj: SourceObject):
        self.source, self.obj = source, obj


def _opened(inputs: list) -> Iterator:
    for item in inputs:
        if isinstance(item, _Lazy):
            try:
                stream = item.source.open(item.obj)
            except OSError as exc:
                raise InputError(f"cannot open: {exc}", source=item.obj.key) from None
            if getattr(stream, "name", None) != item.obj.key:
                stream = _Named(stream, item.obj.key)
            yield stream
        else:
            yield item


class _Named:
    """A binary stream with the name the reader reports (the object's key)."""

    def __init__(self, stream, name: str):
        self._stream, self.name = stream, name

    def __getattr__(self, attr):
        return getattr(self._stream, attr)
