"""Write records as AWS writes them: text (header, single spaces, '-' for null, gzip) or Parquet.

A text file read and written back is byte-identical (tests/records/test_roundtrip.py), because the
writer makes exactly the choices AWS's files show: the header is the field names of the format, one
space between fields, '-' for a missing value, '\n' after every line including the last.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from vpcflow.records.catalog import BY_COLUMN
from vpcflow.records.formats import LogFormat
from vpcflow.records.gzip_blocks import Block, GzipBlockWriter, deflate_block
from vpcflow.records.parquet_codec import write_parquet
from vpcflow.records.pool import ordered_map

_TEXT_OPTIONS = dict(include_header=False, delimiter=" ", quoting_style="none", null_string="-")
SLICE_ROWS = 1 << 16  # records formatted (and deflated) per pool task: ~7 MB of default-format text


def format_of_table(schema: pa.Schema) -> LogFormat:
    return LogFormat.parse(" ".join(BY_COLUMN[name].token for name in schema.names))


def record_lines(data: pa.RecordBatch | pa.Table, fmt: LogFormat | None = None) -> bytes:
    """Records as AWS text lines, each ending in '\\n', no header."""
    fmt = fmt or format_of_table(data.schema)
    data = data.select(fmt.columns)
    if data.num_rows == 0:
        return b""
    if isinstance(data, pa.Table) and any(b.num_rows == 0 for b in data.to_batches()):
        # pyarrow's CSV writer emits garbage (a buffer of NULs) for a table whose chunks include an
        # empty one (seen with pyarrow 17-22, e.g. after concat_tables with an empty slice).
        data = pa.Table.from_batches([b for b in data.to_batches() if b.num_rows], data.schema)
    buf = io.BytesIO()
    pacsv.write_csv(data, buf, pacsv.WriteOptions(**_TEXT_OPTIONS))
    return buf.getvalue()


@dataclass(frozen=True)
class EncodedSlice:
    """One slice of records as text lines, and that text deflated (None when not asked for)."""

    rows: int
    text: bytes
    block: Block | None


def encode_slices(
    pieces: Iterable[pa.RecordBatch | pa.Table], fmt: LogFormat, *, deflate: bool
) -> Iterator[EncodedSlice]:
    """Format (and deflate) each piece on the shared pool, in input order.

    Formatting and compressing one piece is one task, so two pieces are encoded at once and the next
    file's first pieces start while the caller is still writing the previous file.
    """

    def encode(piece) -> EncodedSlice:
        text = record_lines(piece, fmt)
        return EncodedSlice(piece.num_rows, text, deflate_block(text) if deflate else None)

    return ordered_map(encode, pieces)


def write_text(
    data: pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch],
    dest: str | os.PathLike | BinaryIO,
    fmt: LogFormat | None = None,
    *,
    header: bool = True,
    gzip: bool | None = None,
) -> int:
    """Write records as an S3 text object (or CloudWatch-style header-less text with header=False).

    `gzip` defaults to the destination's extension (`.gz`). Returns the number of records written.
    Slices of records are formatted and deflated on the shared thread pool (gzip_blocks.py), because
    turning numbers into text and compressing it are the slow parts of writing.
    """
    batches = iter([data] if isinstance(data, (pa.Table, pa.RecordBatch)) else data)
    first = next(batches, None)
    if fmt is None:
        if first is None:
            raise ValueError("write_text needs a log format or at least one batch")
        fmt = format_of_table(first.schema)
    if gzip is None:
        gzip = isinstance(dest, (str, os.PathLike)) and os.fspath(dest).endswith(".gz")
    own = isinstance(dest, (str, os.PathLike))
    raw = open(dest, "wb") if own else dest  # noqa: SIM115 - closed below
    packed = GzipBlockWriter(raw) if gzip else None
    rows = 0
    done = False
    try:
        if header:
            text = fmt.header.encode() + b"\n"
            (packed or raw).write(text)
        pieces = _slices(itertools.chain([first] if first is not None else [], batches))
        for encoded in encode_slices(pieces, fmt, deflate=packed is not None):
            if packed:
                packed.write_block(encoded.block)
            else:
                raw.write(encoded.text)
            rows += encoded.rows
        done = True
    finally:
        if packed:
            packed.close(complete=done)
        if own:
            raw.close()
    return rows


def _slices(batches: Iterable[pa.RecordBatch | pa.Table]):
    rows = SLICE_ROWS
    for batch in batches:
        for start in range(0, batch.num_rows, rows):
            yield batch.slice(start, rows)


def write_file(table: pa.Table, dest: str | os.PathLike, fmt: LogFormat | None = None) -> int:
    """Write by extension: `.parquet` as AWS's Parquet delivery, else text (gzip for `.gz`)."""
    if Path(dest).suffix == ".parquet":
        write_parquet(table, dest, fmt)
        return table.num_rows
    return write_text(table, dest, fmt)
