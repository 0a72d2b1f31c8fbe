"""Deliver one flow log's records to S3 as AWS does (flowlogs.md §4).

- One object per 5-minute window of the records' `end` times ("publishes the log files to the Amazon
  S3 bucket at 5-minute intervals"), keyed by `vpcflow.records.s3layout` (plain, Hive, hourly).
- A text object is a header line then one record a line, gzip-compressed (`.log.gz`); a Parquet object
  has AWS's column types and gzip compression (`.log.parquet`). AWS says only "each file is compressed
  into a single Gzip file": we write one gzip member at ISA-L's fastest level, built from slices
  deflated on the shared pool (records/gzip_blocks.py), which any gunzip reads.
- Rotation: "The maximum file size for a log file is 75 MB. If the log file reaches the file size
  limit within the 5-minute period, the flow log stops adding flow log records to it", then a new
  file starts. AWS does not say whether the 75 MB is before or after compression; we count the
  uncompressed text (header included), which is deterministic and cheap. For Parquet we count the
  same records' in-memory Arrow size.
- Each object's mtime is its simulated delivery time: the end of its window plus five minutes (AWS
  delivers to S3 "in about 10 minutes"; the file name carries the window's start).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from vpcflow.capture.flowlogs import FlowLog
from vpcflow.capture.sinks import ObjectSink
from vpcflow.records import s3layout
from vpcflow.records.formats import LogFormat
from vpcflow.records.gzip_blocks import GzipBlockWriter, deflate_block
from vpcflow.records.parquet_codec import write_parquet
from vpcflow.records.writer import SLICE_ROWS, encode_slices

MAX_FILE_BYTES = 75 * 1024 * 1024


@dataclass(frozen=True)
class DeliveredObject:
    bucket: str
    key: str
    records: int
    path: str


def deliver_s3(
    flow_log: FlowLog,
    table: pa.Table,
    end: np.ndarray,
    sink: ObjectSink,
    *,
    account: str,
    region: str,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> list[DeliveredObject]:
    """Write `table` (records in the flow log's format, `end` = each record's end time) as S3 objects."""
    if table.num_rows == 0:
        return []
    options = flow_log.options
    file_format = "parquet" if options.file_format == "parquet" else "text"
    window = (end // 300) * 300
    ordered = bool(np.all(window[1:] >= window[:-1]))  # collect() groups records by window already
    if not ordered:
        order = np.argsort(window, kind="stable")
        table, window = table.take(order).combine_chunks(), window[order]
    cuts = np.flatnonzero(np.diff(window)) + 1
    bounds = np.r_[0, cuts, len(window)]
    windows = [(int(window[lo]), int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]

    def key_of(window_start: int, sequence: int) -> str:
        return s3layout.build_key(
            account, region, flow_log.id, window_start, prefix=flow_log.s3_prefix,
            hive=options.hive_compatible_partitions, hourly=options.per_hour_partition,
            file_format=file_format, sequence=sequence,
        ).key  # fmt: skip

    if file_format == "parquet":
        return _deliver_parquet(flow_log, table, windows, sink, key_of, max_file_bytes)
    return _deliver_text(flow_log, table, windows, sink, key_of, max_file_bytes)


def _deliver_parquet(flow_log, table, windows, sink, key_of, limit) -> list[DeliveredObject]:
    """One object per window, cut into equal parts when its Arrow size passes the limit."""
    delivered = []
    bucket = flow_log.bucket
    for window_start, lo, hi in windows:
        rows = table.slice(lo, hi - lo)
        parts = max(1, -(-rows.nbytes // limit))
        step = -(-rows.num_rows // parts)
        for sequence, start in enumerate(range(0, rows.num_rows, step)):
            piece, key = rows.slice(start, step), key_of(window_start, sequence)
            with sink.open(bucket, key) as raw:
                write_parquet(piece, raw, flow_log.format)
            sink.finish(bucket, key, window_start + 600)
            delivered.append(DeliveredObject(bucket, key, piece.num_rows, sink.path(bucket, key)))
    return delivered


def _deliver_text(flow_log, table, windows, sink, key_of, limit) -> list[DeliveredObject]:
    """Every window's records formatted and deflated slice by slice on the shared pool, across
    windows (the next object's slices are encoded while this one is written), then written in order
    into objects no bigger than the limit (uncompressed text, header included)."""
    fmt: LogFormat = flow_log.format
    header = fmt.header.encode() + b"\n"
    slices = [
        (w, table.slice(s, min(SLICE_ROWS, hi - s)))
        for w, (_, lo, hi) in enumerate(windows)
        for s in range(lo, hi, SLICE_ROWS)
    ]
    delivered: list[DeliveredObject] = []
    current: _TextObject | None = None
    encoded = encode_slices((piece for _, piece in slices), fmt, deflate=True)
    try:
        for (w, _piece), done in zip(slices, encoded, strict=True):
            window_start = windows[w][0]
            if current is None or current.window_start != window_start:
                if current is not None and current.records:
                    delivered.append(current.finish())
                current = _TextObject(flow_log.bucket, window_start, 0, sink, key_of, header, limit)
            if current.room() >= len(done.text):  # the usual case: the slice fits, already deflated
                current.add_block(done.block, done.rows)
                continue
            text = done.text
            while text:  # the object fills up inside this slice: cut at a record boundary
                room = current.room()
                if len(text) <= room:
                    current.add_text(text)
                    break
                cut = text.rfind(b"\n", 0, room) + 1
                if cut == 0 and current.records == 0:  # one record longer than the limit: a file of its own
                    cut = text.find(b"\n") + 1
                if cut:
                    current.add_text(text[:cut])
                delivered.append(current.finish())
                current = current.next()
                text = text[cut:]
        if current is not None and current.records:
            delivered.append(current.finish())
    except BaseException:
        if current is not None:
            current.abandon()
        raise
    return delivered


class _TextObject:
    """One gzip text object being written: header first, opened when its first record arrives."""

    def __init__(self, bucket, window_start, sequence, sink: ObjectSink, key_of, header: bytes, limit: int):
        self.bucket, self.window_start, self.sequence = bucket, window_start, sequence
        self.sink, self.key_of, self.header, self.limit = sink, key_of, header, limit
        self.key = key_of(window_start, sequence)
        self.size, self.records = len(header), 0
        self._raw: BinaryIO | None = None
        self._out: GzipBlockWriter | None = None

    def room(self) -> int:
        return self.limit - self.size

    def _writer(self) -> GzipBlockWriter:
        if self._out is None:
            self._raw = self.sink.open(self.bucket, self.key)
            self._out = GzipBlockWriter(self._raw)
            self._out.write(self.header)
        return self._out

    def add_block(self, block, records: int) -> None:
        self._writer().write_block(block)
        self.size += block.size
        self.records += records

    def add_text(self, text: bytes) -> None:
        self.add_block(deflate_block(text), text.count(b"\n"))

    def finish(self) -> DeliveredObject:
        try:
            self._writer().close()
        finally:
            self._raw.close()
        self._out = None
        self.sink.finish(self.bucket, self.key, self.window_start + 600)
        return DeliveredObject(self.bucket, self.key, self.records, self.sink.path(self.bucket, self.key))

    def abandon(self) -> None:
        """After an error: close the file without a gzip trailer (readers see it as truncated)."""
        if self._out is not None:
            try:
                self._out.close(complete=False)
            finally:
                self._raw.close()

    def next(self) -> _TextObject:
        return _TextObject(self.bucket, self.window_start, self.sequence + 1, self.sink, self.key_of,
                           self.header, self.limit)  # fmt: skip
