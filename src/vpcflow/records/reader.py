"""Read any flow log input into Arrow record batches, streaming, with bounded memory.

    for batch in read_batches("x.log.gz"): ...          # kind detected from the bytes
    flow = open_flow_log(path); flow.format; flow.kind  # what was detected, before reading

Text is cut into blocks of whole lines; blocks are parsed on a thread pool (pyarrow releases the
GIL) while ISA-L inflates the next bytes on its own thread, so one gzip file keeps both cores busy.
At most a few blocks are in flight, so memory stays flat whatever the input size.
"""

from __future__ import annotations

import collections
import gzip
import io
import os
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import deflate
import pyarrow as pa
from isal import igzip, igzip_threaded

from vpcflow.errors import InputError, RecordError
from vpcflow.records import cwlogs, parquet_codec
from vpcflow.records.badrecords import BadRecord, BadRecordSink, OnError, Quarantine, ReadStats
from vpcflow.records.detect import GZIP_MAGIC, PARQUET_MAGIC, Kind, plan_text
from vpcflow.records.formats import LogFormat
from vpcflow.records.pool import WORKERS, pool
from vpcflow.records.text_codec import TextLayout, parse_block

BLOCK_BYTES = 4 << 20
HEAD_BYTES = 64 << 10

Source = str | os.PathLike | BinaryIO


@dataclass
class FlowLogInput:
    """One opened input: what it is and how to stream its records."""

    name: str
    kind: Kind
    format: LogFormat
    _stream: BinaryIO | None = None
    _head: bytes = b""
    _layout: TextLayout | None = None
    _first_line: int = 1
    _path: str | None = None
    _payload: bytes | None = None

    def batches(
        self,
        on_error: OnError | str = OnError.fail,
        stats: ReadStats | None = None,
        quarantine: Quarantine | None = None,
    ) -> Iterator[pa.RecordBatch]:
        stats = stats if stats is not None else ReadStats()
        stats.files += 1
        sink = BadRecordSink(on_error, stats, quarantine)
        for _, batch in _pipeline(self.jobs(sink), sink):
            yield batch

    def jobs(self, sink: BadRecordSink) -> Iterator[_Job]:
        """The units of parsing work in this input, in order: blocks of lines, or the whole file."""
        if self.kind is Kind.parquet:
            yield _Job(self, None, 0)
            return
        if self.kind is Kind.subscription:
            blocks = cwlogs.payload_blocks(self._payload, self.name)
        elif self.kind is Kind.cloudwatch_events:
            blocks = cwlogs.event_blocks(self._payload, self.name)
        else:
            blocks = _line_blocks(self._stream, self._head, self._first_line, self.name, sink)
        for block, line in blocks:
            yield _Job(self, block, line)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()


def open_flow_log(source: Source, log_format: str | LogFormat | None = None, name: str | None = None) -> FlowLogInput:
    """Open a path or binary file object and detect its kind and format from its first bytes."""
    name = name or _name_of(source)
    raw = _open_raw(source, name)
    magic = raw.read(4)
    if magic == PARQUET_MAGIC:
        path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
        if path is None:
            source.seek(0)
        else:
            raw.close()
        fmt = parquet_codec.format_of(path or source, name)
        return FlowLogInput(name, Kind.parquet, fmt, None if path else source, _path=path)
    stream = _decompressing(raw, magic, source, name)
    head = _read_head(stream, name)
    if head.lstrip()[:1] == b"{":
        payload = head + _read_rest(stream, name)
        stream.close()
        if cwlogs.is_payload(payload):
            fmt, layout = cwlogs.payload_layout(log_format)
            return FlowLogInput(name, Kind.subscription, fmt, _payload=payload, _layout=layout)
        if cwlogs.is_event_lines(payload):
            fmt, layout = cwlogs.payload_layout(log_format)
            return FlowLogInput(name, Kind.cloudwatch_events, fmt, _payload=payload, _layout=layout)
        stream, head = io.BytesIO(payload[len(head) :]), head  # text that merely starts with '{'
    plan = plan_text(head, name, log_format)
    return FlowLogInput(
        name, plan.kind, plan.layout.fmt, stream, head[plan.header_bytes :], plan.layout, plan.first_line
    )


def read_batches(
    source: Source,
    *,
    log_format: str | LogFormat | None = None,
    on_error: OnError | str = OnError.fail,
    quarantine_dir: str | os.PathLike | None = None,
    stats: ReadStats | None = None,
    quarantine: Quarantine | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream one input's records as batches with the input's own columns (Athena names, typed)."""
    flow = open_flow_log(source, log_format)
    yield from _read_flow(flow, on_error, quarantine_dir, stats, quarantine)


def read_table(source: Source, **options) -> pa.Table:
    """All of one input's records in one table (small inputs; stream big ones with read_batches)."""
    flow = open_flow_log(source, options.pop("log_format", None))
    batches = list(_read_flow(flow, **options))
    return pa.Table.from_batches(batches, schema=flow.format.schema)


def _read_flow(flow, on_error=OnError.fail, quarantine_dir=None, stats=None, quarantine=None):
    own_quarantine = quarantine is None and quarantine_dir is not None
    if own_quarantine:
        quarantine = Quarantine(quarantine_dir)
    try:
        yield from flow.batches(on_error, stats, quarantine)
    finally:
        flow.close()
        if own_quarantine:
            quarantine.close()


def read_many(
    sources: Iterable[Source],
    *,
    log_format: str | LogFormat | None = None,
    on_error: OnError | str = OnError.fail,
    stats: ReadStats | None = None,
    quarantine: Quarantine | None = None,
) -> Iterator[tuple[FlowLogInput, pa.RecordBatch]]:
    """Every input in turn, each batch with the input it came from (its name, kind and format).

    One pipeline spans the files, so the next file is inflating while this one is parsed: many
    small S3 objects read as fast as one big one. A file that cannot be read at all stops reading
    under `fail`, and is counted as bad (with its reason in `stats.errors`) otherwise.
    """
    stats = stats if stats is not None else ReadStats()
    sink = BadRecordSink(on_error, stats, quarantine)

    def opened() -> Iterator[tuple[Source, Future]]:
        # The next file is opened (and inflated, off the GIL) on the pool while this one is parsed.
        ahead: collections.deque = collections.deque()
        for source in sources:
            ahead.append((source, pool().submit(open_flow_log, source, log_format)))
            if len(ahead) > 1:
                yield ahead.popleft()
        yield from ahead

    def jobs() -> Iterator[_Job]:
        for source, opening in opened():
            try:
                flow = opening.result()
            except InputError as exc:
                if sink.on_error is OnError.fail:
                    raise
                stats.add_bad(BadRecord(_name_of(source), exc.line, None, str(exc), b""))
                continue
            stats.files += 1
            try:
                yield from flow.jobs(sink)
            finally:
                flow.close()

    yield from _pipeline(jobs(), sink)


def _name_of(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


def _open_raw(source: Source, name: str) -> BinaryIO:
    if isinstance(source, (str, os.PathLike)):
        try:
            return open(source, "rb")  # noqa: SIM115 - the input owns it until close()
        except FileNotFoundError:
            raise InputError("no such file", source=name) from None
        except IsADirectoryError:
            raise InputError("is a folder; give files, or use `vpcflow ingest` for folders", source=name) from None
    return source


WHOLE_FILE_BYTES = 64 << 20


def _decompressing(raw: BinaryIO, magic: bytes, source: Source, name: str) -> BinaryIO:
    if magic[:2] != GZIP_MAGIC:
        return _Prefixed(magic, raw)
    if isinstance(source, (str, os.PathLike)):
        if os.path.getsize(source) <= WHOLE_FILE_BYTES:
            whole = _inflate_whole(magic + raw.read())
            if whole is not None:
                raw.close()
                return io.BytesIO(whole)
        raw.close()
        # Large files stream: ISA-L inflates on its own thread, overlapping with parsing.
        return igzip_threaded.open(source, "rb", threads=1, block_size=1 << 20)
    return igzip.IGzipFile(fileobj=_Prefixed(magic, raw), mode="rb")


def _inflate_whole(data: bytes) -> bytes | None:
    """libdeflate, the fastest inflater we measured, and it releases the GIL; it needs the whole file.

    None when libdeflate cannot be sure it read everything (several gzip members, damage): the
    streaming inflater then reads the file and keeps every complete line before any damage.
    """
    try:
        out = deflate.gzip_decompress(data)
    except deflate.DeflateError:
        return None
    if len(out) % (1 << 32) != int.from_bytes(data[-4:], "little"):
        return None  # the trailer's size is the last member's: there is more than one member
    return out


_TRUNCATION = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


def _read_head(stream: BinaryIO, name: str) -> bytes:
    try:
        head = stream.read(HEAD_BYTES)
    except _TRUNCATION as exc:
        raise InputError(f"damaged gzip data before any record: {exc}", source=name) from None
    if not head:
        raise InputError("empty file: no header line and no records", source=name)
    return head


def _read_rest(stream: BinaryIO, name: str) -> bytes:
    try:
        return stream.read()
    except _TRUNCATION as exc:
        raise InputError(f"damaged gzip data: {exc}", source=name) from None


def _line_blocks(stream, head: bytes, first_line: int, name: str, sink) -> Iterator[tuple[bytes, int | None]]:
    """Blocks of whole lines, numbered later by the pipeline (None: counting newlines here would
    cost the main thread a pass over every byte). A cut-off stream ends with its complete lines,
    then its incomplete last line as a `_Truncated` block."""
    carry = head
    while True:
        try:
            chunk = stream.read(BLOCK_BYTES)
        except _TRUNCATION as exc:
            cut = carry.rfind(b"\n") + 1
            if cut:
                yield carry[:cut], None
            yield _Truncated(carry[cut:], str(exc)), None
            return
        if not chunk:
            if carry:
                yield carry, None
            return
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry = data
            continue
        block, carry = data[:cut], data[cut:]
        yield block, None


class _Truncated(bytes):
    """The cut-off last line of a gzip stream that ended early."""

    reason: str

    def __new__(cls, tail: bytes, reason: str):
        obj = super().__new__(cls, tail)
        obj.reason = reason
        return obj


@dataclass
class _Job:
    flow: FlowLogInput
    block: bytes | None  # None: the whole input at once (Parquet)
    line: int | None  # the block's first line, or None: numbered in order by the pipeline


def _run(job: _Job):
    flow = job.flow
    if job.block is None:
        return list(parquet_codec.read_batches(flow._path or flow._stream, flow.name))
    if isinstance(job.block, _Truncated):
        return job.block
    return parse_block(job.block, flow._layout, flow.name, job.line or 1)


def _pipeline(jobs: Iterator[_Job], sink: BadRecordSink) -> Iterator[tuple[FlowLogInput, pa.RecordBatch]]:
    """Run jobs on the pool, results in input order, a bounded number in flight (flat memory)."""
    pending: collections.deque = collections.deque()
    lines: dict[int, int] = {}  # per input: lines before its next block
    try:
        while True:
            while len(pending) < WORKERS + 1:
                job = next(jobs, None)
                if job is None:
                    break
                pending.append((job, pool().submit(_run, job)))
            if not pending:
                return
            job, future = pending.popleft()
            flow, result = job.flow, future.result()
            if isinstance(result, list):
                for batch in result:
                    sink.stats.good += batch.num_rows
                    yield flow, batch
                continue
            before = lines.setdefault(id(flow), flow._first_line - 1)
            if isinstance(result, _Truncated):
                reason = f"gzip data ends early ({result.reason}); this line is cut off"
                sink(BadRecord(flow.name, before + 1, None, reason, bytes(result)))
                continue
            if job.line is None:
                result.shift(before)
                lines[id(flow)] = before + result.line_count
            for bad in result.bad:
                try:
                    sink(bad)
                except RecordError:
                    head = result.good_before(bad.line or 0)
                    sink.stats.good += head.num_rows
                    if head.num_rows:
                        yield flow, head
                    raise
            sink.stats.good += result.batch.num_rows
            if result.batch.num_rows:
                yield flow, result.batch
    finally:
        for _, future in pending:
            future.cancel()


class _Prefixed(io.RawIOBase):
    """A stream with a few already-read bytes put back in front (we sniff magic numbers)."""

    def __init__(self, prefix: bytes, raw: BinaryIO):
        self._prefix, self._raw = prefix, raw
        self.name = getattr(raw, "name", "<stream>")

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._prefix:
            if n is None or n < 0:
                data, self._prefix = self._prefix + self._raw.read(), b""
                return data
            data, self._prefix = self._prefix[:n], self._prefix[n:]
            if len(data) < n:
                data += self._raw.read(n - len(data))
            return data
        return self._raw.read(n)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def as_path(source: Source) -> Path | None:
    return Path(source) if isinstance(source, (str, os.PathLike)) else None
