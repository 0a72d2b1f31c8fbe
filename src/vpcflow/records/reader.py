"""Read any flow log input into Arrow record batches, streaming, with bounded memory.

    for batch in read_batches("x.log.gz"): ...          # kind detected from the bytes
    flow = open_flow_log(path); flow.format; flow.kind  # what was detected, before reading

A gzip file up to SMALL_GZIP_BYTES (AWS's objects are a few MB) is one task on the pool: ISA-L
inflates it 1 MiB at a time and each piece is parsed while still in cache (line_blocks.py), so a
folder's files are read in parallel. Other files up to WHOLE_FILE_BYTES are held whole (gzip
inflated whole by ISA-L) and cut into blocks of whole lines as memoryviews. Bigger files
and streams, and gzip files whose trailer says their text is over TEXT_IN_MEMORY_BYTES, inflate
with ISA-L on its own thread. Blocks are parsed on the pool (pipeline.py; the tokenizer and pyarrow
release the GIL), a few in flight at a time, so memory stays flat whatever the input size.
"""

from __future__ import annotations

import collections
import io
import os
import stat
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
from isal import igzip, igzip_threaded, isal_zlib

from vpcflow.errors import InputError, RecordError
from vpcflow.records import cwlogs, parquet_codec
from vpcflow.records.badrecords import BadRecord, BadRecordSink, OnError, Quarantine, ReadStats
from vpcflow.records.detect import GZIP_MAGIC, PARQUET_MAGIC, Kind, plan_text
from vpcflow.records.formats import LogFormat
from vpcflow.records.gzip_text import TRUNCATION, GzipText, Recovering, read_upto
from vpcflow.records.line_blocks import line_blocks
from vpcflow.records.pipeline import WHOLE_GZIP, Damaged, Job, parquet_jobs, run_jobs
from vpcflow.records.pool import pool
from vpcflow.records.text_codec import TextLayout

BLOCK_BYTES = 4 << 20
HEAD_BYTES = 64 << 10
LONG_HEAD_BYTES = 1 << 20  # see _head_of

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
    _text: bytes | None = None  # the whole text, when it was read at once (records from _start)
    _start: int = 0
    _clean: bool | None = None  # see trusted(); None: not checked yet
    _counted: tuple[int, int] = (0, 0)  # (offset in _text, lines before it): lazy line numbering
    _gzip_path: str | None = None  # a small gzip file, inflated and parsed by one task (line_blocks.py)

    def batches(
        self,
        on_error: OnError | str = OnError.fail,
        stats: ReadStats | None = None,
        quarantine: Quarantine | None = None,
    ) -> Iterator[pa.RecordBatch]:
        stats = stats if stats is not None else ReadStats()
        stats.files += 1
        sink = BadRecordSink(on_error, stats, quarantine)
        for _, batch in run_jobs(self.checked_jobs(sink), sink):
            yield batch

    def checked_jobs(self, sink: BadRecordSink) -> Iterator[Job]:
        """jobs(), and where damage stops them partway (a payload that is not JSON, a stream that
        breaks off) a last job that delivers it, after the records before it, as one bad record for
        the policy (fail stops; skip and quarantine go on with the next input)."""
        try:
            yield from self.jobs(sink)
        except RecordError:
            raise
        except InputError as exc:
            yield Job(self, Damaged(exc), None)

    def jobs(self, sink: BadRecordSink) -> Iterator[Job]:
        """The units of parsing work in this input, in order: blocks of lines, a Parquet file's row
        groups (each read on the pool, or a batch at a time if it is too big to hold: pipeline.py)."""
        if self.kind is Kind.parquet:
            yield from parquet_jobs(self)
            return
        if self.kind is Kind.subscription:
            payload = self._payload if self._payload is not None else self._chunks()
            blocks = cwlogs.payload_blocks(payload, self.name)
        elif self.kind is Kind.cloudwatch_events:
            blocks = self._event_blocks()
        elif self._text is not None:
            for offset, block in _memory_blocks(self._text, self._start):
                yield Job(self, block, None, offset)
            return
        elif self._gzip_path is not None:
            yield Job(self, WHOLE_GZIP, None)
            return
        else:
            blocks = ((block, None) for block in line_blocks(self._stream, self._head, BLOCK_BYTES))
        for block, line in blocks:
            yield Job(self, block, line)

    def _chunks(self) -> Iterator[bytes]:
        """A streamed input's bytes, the head first, a chunk at a time."""
        yield self._head
        while True:
            try:
                chunk = self._stream.read(cwlogs.CHUNK_BYTES)
            except TRUNCATION as exc:
                raise InputError(f"damaged gzip data: {exc}", source=self.name) from None
            if not chunk:
                return
            yield chunk

    def _event_blocks(self) -> Iterator[tuple[bytes, int]]:
        """Event lines a block at a time (a streamed input's blocks of whole lines), numbered."""
        if self._payload is not None:
            yield from cwlogs.event_blocks(self._payload, self.name)
            return
        before = 0
        for block in line_blocks(self._stream, self._head, BLOCK_BYTES):  # a cut-off line: a bad record
            for events, line in cwlogs.event_blocks(bytes(block), self.name):
                yield events, before + line
            before += block.count(b"\n") + (not block.endswith(b"\n"))

    def lines_before(self, offset: int) -> int:
        """Lines of the whole text before `offset`: counted only when a block has bad records
        (a clean read never pays for it), from where the last count stopped."""
        start, lines = self._counted
        if not self._start <= start <= offset:
            start, lines = self._start, self._first_line - 1
        view = np.frombuffer(self._text, dtype=np.uint8, count=offset - start, offset=start)
        lines += int(np.count_nonzero(view == 10))
        self._counted = (offset, lines)
        return lines

    def trusted(self) -> bool:
        """Whether the whole text held in memory has only bytes pyarrow's fast parse can trust (see
        _trusted). Checked on the first block that needs it: the tokenizer reads the blocks of a big
        file without it, and the check holds the GIL for ~4 ms per 28 MB."""
        if self._clean is None:
            self._clean = self._text is not None and _trusted(self._text, self._start)
        return self._clean

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()


def open_flow_log(
    source: Source, log_format: str | LogFormat | None = None, name: str | None = None
) -> FlowLogInput:
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
    small_gzip = _small_gzip(raw, magic, source, name, log_format)
    if small_gzip is not None:
        return small_gzip
    text, raw = _whole_text(raw, magic, source)
    if text is None:
        stream = _decompressing(raw, magic, source, name)
        head = _read_head(stream, name)
    else:
        stream, head = None, _head_of(text)
        if not head:
            raise InputError("empty file: no header line and no records", source=name)
    if _cloudwatch_json(head):
        # CloudWatch Logs JSON: held whole when the text is (it is small enough), else streamed
        # from the head on, so memory does not grow with the input.
        kind = None
        if cwlogs.is_payload(head if text is None else text):
            kind = Kind.subscription
        elif cwlogs.is_event_lines(head):
            kind = Kind.cloudwatch_events
        if kind is not None:
            fmt, layout = cwlogs.payload_layout(log_format)
            return FlowLogInput(name, kind, fmt, stream, head, layout, _payload=text)
    plan = plan_text(head, name, log_format)
    if text is not None:
        return FlowLogInput(
            name, plan.kind, plan.layout.fmt, None, b"", plan.layout, plan.first_line,
            _text=text, _start=plan.header_bytes,
        )  # fmt: skip
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

    def jobs() -> Iterator[Job]:
        for source, opening in opened():
            try:
                flow = opening.result()
            except InputError as exc:
                if sink.on_error is OnError.fail:
                    raise
                bad = BadRecord.whole_file(_name_of(source), exc)
                stats.files += 1  # read, and found to be no flow log: counted as cat counts it
                stats.add_bad(bad)
                if sink.quarantine is not None:
                    sink.quarantine.put_file(bad)  # its bytes, as they are (a stream's: none)
                continue
            stats.files += 1
            try:
                yield from flow.checked_jobs(sink)
            finally:
                flow.close()

    yield from run_jobs(jobs(), sink)


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
            raise InputError(
                "is a folder; give files, or use `vpcflow ingest` for folders", source=name
            ) from None
    return source


WHOLE_FILE_BYTES = 64 << 20
TEXT_IN_MEMORY_BYTES = 256 << 20  # a gzip file whose text is bigger streams, however small it is


def _text_too_big(raw: BinaryIO, source: Source) -> bool:
    """Whether a gzip file's text, by its trailer (the last member's size, mod 2**32), is too big to
    hold: flow logs that compress very well then stream. A size deflate cannot reach (over 1032
    times the file: a cut-off file's trailer is whatever bytes it ends with) is ignored. Not a guard
    against a crafted file."""
    raw.seek(-4, os.SEEK_END)
    size = int.from_bytes(raw.read(4), "little")
    return TEXT_IN_MEMORY_BYTES < size <= 1032 * os.path.getsize(source)


def _whole_text(raw: BinaryIO, magic: bytes, source: Source) -> tuple[bytes | None, BinaryIO]:
    """A regular file's whole text when it is small enough to hold (plain, or gzip that inflates
    cleanly in one go), else None and the stream to read it from (the file, still open, after the
    magic bytes). Pipes (`<(zcat ...)`) and open streams always stream: their size is unknown, and
    memory must stay flat whatever it is."""
    if not isinstance(source, (str, os.PathLike)) or not stat.S_ISREG(os.stat(source).st_mode):
        return None, raw
    if os.path.getsize(source) > WHOLE_FILE_BYTES:
        return None, raw
    if magic[:2] == GZIP_MAGIC and _text_too_big(raw, source):
        raw.seek(len(magic))
        return None, raw
    raw.seek(0)
    data = raw.read()
    text = data if magic[:2] != GZIP_MAGIC else _inflate_whole(data)
    if text is None:
        raw.seek(len(magic))
        return None, raw
    raw.close()
    return text, raw


SMALL_GZIP_BYTES = 16 << 20  # compressed; AWS's objects are a few MB


def _small_gzip(raw: BinaryIO, magic: bytes, source: Source, name: str, log_format) -> FlowLogInput | None:
    """A regular gzip file of flow log text small enough to be read by one task, inflating and
    parsing in turn (line_blocks.parse_gzip_file), opened from its first 64 KiB; else None, and
    `raw` is left for the other paths. CloudWatch Logs payloads and anything that does not open
    cleanly take those paths too."""
    if magic[:2] != GZIP_MAGIC or not isinstance(source, (str, os.PathLike)):
        return None
    if not stat.S_ISREG(os.stat(source).st_mode) or os.path.getsize(source) > SMALL_GZIP_BYTES:
        return None
    if _text_too_big(raw, source):
        return None
    try:
        with igzip.open(source, "rb") as stream:
            head = _read_head(stream, name)
        if not head or _cloudwatch_json(head):
            return None
        plan = plan_text(head, name, log_format)
    except InputError:
        return None  # the other paths say what is wrong, as they always have
    raw.close()
    return FlowLogInput(
        name, plan.kind, plan.layout.fmt, None, b"", plan.layout, plan.first_line,
        _start=plan.header_bytes, _gzip_path=os.fspath(source),
    )  # fmt: skip


def _trusted(text: bytes, start: int) -> bool:
    """Whether blocks of `text` may take the fast parse with no per-block scan: ASCII, and none of
    the bytes pyarrow would read differently from AWS (it trims tabs around numbers, reads `0x1f`
    as hex and CR as a line end). A few memchr passes over the whole file; a block whose parsed
    strings hold other control bytes still falls back to the careful parse."""
    if not text.isascii():
        return False
    return all(text.find(byte, start) < 0 for byte in (b"\r", b"\t", b"x", b"X"))


def _memory_blocks(text: bytes, start: int) -> Iterator[tuple[int, memoryview]]:
    """(offset, block of whole lines) over text held in memory: views, not copies."""
    view, end = memoryview(text), len(text)
    while start < end:
        stop = min(start + BLOCK_BYTES, end)
        if end - stop < BLOCK_BYTES // 4:
            stop = end  # a short tail joins this block: under 1 MiB it would miss the tokenizer
        if stop < end:
            cut = text.rfind(b"\n", start, stop) + 1
            if cut == 0 or cut <= start:  # a line longer than a block: up to its end
                cut = text.find(b"\n", stop) + 1 or end
            stop = cut
        yield start, view[start:stop]
        start = stop


def _decompressing(raw: BinaryIO, magic: bytes, source: Source, name: str) -> BinaryIO:
    if magic[:2] != GZIP_MAGIC:
        return _Prefixed(magic, raw)
    if isinstance(source, (str, os.PathLike)) and os.path.isfile(source):
        raw.close()
        # Large files stream: ISA-L inflates on its own thread, overlapping with parsing; if the
        # file turns out damaged, GzipText reads it again to give every line before the damage.
        fast = igzip_threaded.open(source, "rb", threads=1, block_size=1 << 20)
        return Recovering(fast, os.fspath(source))
    return GzipText(_Prefixed(magic, raw))


def _inflate_whole(data: bytes) -> bytes | None:
    """ISA-L, the fastest inflater we measured (it releases the GIL), over every gzip member: a
    file of several members (concatenated objects, Firehose's payloads) is read whole. libdeflate
    was used here and read only the first member, silently (its guard, the last member's size in
    the trailer, passes when the members have the same size).

    None when the data is damaged or cut off: the streaming inflater then reads the file and
    keeps every complete line before the damage.
    """
    try:
        return igzip.decompress(data)
    except (EOFError, OSError, isal_zlib.error):
        return None


def _cloudwatch_json(head: bytes) -> bool:
    """Whether the input may be CloudWatch Logs JSON (payloads, or event lines after junk)."""
    return head.lstrip()[:1] == b"{" or cwlogs.is_event_lines(head)


def _head_of(text: bytes) -> bytes:
    """The first HEAD_BYTES of text, or up to LONG_HEAD_BYTES while they hold fewer than two whole
    lines: a long junk first line must not leave the kind to be decided on no line at all."""
    head = text[:HEAD_BYTES]
    return head if head.count(b"\n") >= 2 else text[:LONG_HEAD_BYTES]


def _read_head(stream: BinaryIO, name: str) -> bytes:
    """The first bytes of text (as _head_of: fewer at the end). Damage after some text leaves that
    text to be read: the stream raises again at the same place, after it."""
    head, error = read_upto(stream, HEAD_BYTES)
    if error is None and len(head) == HEAD_BYTES and head.count(b"\n") < 2:
        more, error = read_upto(stream, LONG_HEAD_BYTES - HEAD_BYTES)
        head += more
    if error is not None and not head:
        raise InputError(f"damaged gzip data before any record: {error}", source=name) from None
    if not head:
        raise InputError("empty file: no header line and no records", source=name)
    return head


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
