"""Deliver one flow log's records to S3 as AWS does (flowlogs.md §4).

- One object per 5-minute window of the records' `end` times ("publishes the log files to the Amazon
  S3 bucket at 5-minute intervals"), keyed by `vpcflow.records.s3layout` (plain, Hive, hourly).
- A text object is a header line then one record a line, gzip-compressed (`.log.gz`); a Parquet object
  has AWS's column types and gzip compression (`.log.parquet`).
- Rotation: "The maximum file size for a log file is 75 MB. If the log file reaches the file size
  limit within the 5-minute period, the flow log stops adding flow log records to it", then a new
  file starts. AWS does not say whether the 75 MB is before or after compression; we count the
  uncompressed text (header included), which is deterministic and cheap. For Parquet we count the
  same records' in-memory Arrow size.
- Each object's mtime is its simulated delivery time: the end of its window plus five minutes (AWS
  delivers to S3 "in about 10 minutes"; the file name carries the window's start).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from isal import igzip, igzip_threaded

from vpcflow.capture.flowlogs import FlowLog
from vpcflow.capture.sinks import ObjectSink
from vpcflow.records import s3layout
from vpcflow.records.formats import LogFormat
from vpcflow.records.parquet_codec import write_parquet
from vpcflow.records.pool import ordered_map
from vpcflow.records.writer import GZIP_LEVEL, record_lines

MAX_FILE_BYTES = 75 * 1024 * 1024
SLICE_ROWS = 1 << 16
THREADED_GZIP_BYTES = 8 << 20


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
    fmt = flow_log.format
    options = flow_log.options
    file_format = "parquet" if options.file_format == "parquet" else "text"
    window = (end // 300) * 300
    ordered = bool(np.all(window[1:] >= window[:-1]))  # collect() groups records by window already
    order = np.arange(len(end)) if ordered else np.argsort(window, kind="stable")
    window = window[order]
    cuts = np.flatnonzero(np.diff(window)) + 1
    bounds = np.r_[0, cuts, len(order)]
    delivered: list[DeliveredObject] = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        rows = table.slice(lo, hi - lo) if ordered else table.take(order[lo:hi]).combine_chunks()
        window_start = int(window[lo])
        for sequence, piece in enumerate(_rotated(rows, fmt, file_format, max_file_bytes)):
            key = s3layout.build_key(
                account, region, flow_log.id, window_start, prefix=flow_log.s3_prefix,
                hive=options.hive_compatible_partitions, hourly=options.per_hour_partition,
                file_format=file_format, sequence=sequence,
            )  # fmt: skip
            bucket = flow_log.bucket
            if file_format == "parquet":
                with sink.open(bucket, key.key) as raw:
                    write_parquet(piece, raw, fmt)
            else:
                _write_gzip_text(sink, bucket, key.key, fmt, piece)
            sink.finish(bucket, key.key, window_start + 600)
            delivered.append(DeliveredObject(bucket, key.key, _rows(piece), sink.path(bucket, key.key)))
    return delivered


def _rows(piece) -> int:
    return piece.num_rows if isinstance(piece, pa.Table) else piece[1]


def _rotated(rows: pa.Table, fmt: LogFormat, file_format: str, limit: int) -> Iterator:
    """The window's records cut into files no bigger than the limit.

    Text pieces are (list of text chunks, record count); Parquet pieces are tables.
    """
    if file_format == "parquet":
        parts = max(1, -(-rows.nbytes // limit))
        step = -(-rows.num_rows // parts)
        for start in range(0, rows.num_rows, step):
            yield rows.slice(start, step)
        return
    header = len(fmt.header) + 1
    chunks: list[bytes] = []
    size, count = header, 0
    slices = (rows.slice(s, SLICE_ROWS) for s in range(0, rows.num_rows, SLICE_ROWS))
    for text in ordered_map(lambda piece: record_lines(piece, fmt), slices):
        while text:
            room = limit - size
            if len(text) <= room:
                chunks.append(text)
                size += len(text)
                count += text.count(b"\n")
                break
            cut = text.rfind(b"\n", 0, room) + 1
            if cut == 0 and count == 0:  # one record longer than the limit: it still gets a file
                cut = text.find(b"\n") + 1
            if cut:
                chunks.append(text[:cut])
                count += text[:cut].count(b"\n")
            yield chunks, count
            chunks, size, count = [], header, 0
            text = text[cut:]
    if count:
        yield chunks, count


def _write_gzip_text(sink: ObjectSink, bucket: str, key: str, fmt: LogFormat, piece) -> None:
    chunks, _count = piece
    total = sum(len(c) for c in chunks)
    raw = sink.open(bucket, key)
    try:
        if total >= THREADED_GZIP_BYTES:
            out = igzip_threaded.open(raw, "wb", compresslevel=GZIP_LEVEL, threads=2)
        else:
            out = igzip.IGzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
        with out:
            out.write(fmt.header.encode() + b"\n")
            for chunk in chunks:
                out.write(chunk)
    finally:
        raw.close()
