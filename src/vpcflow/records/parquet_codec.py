"""AWS's Parquet delivery files: read them into the catalog's types, and write them as AWS does.

AWS stores INT_32 for version, ports, protocol, tcp-flags and traffic-path, INT_64 for packets,
bytes, start and end, STRING for the rest (flowlogs.md §4.3); the catalog's Arrow types follow the
Athena DDL instead (`protocol` bigint), so reading casts and writing casts back. Column names are the
field names with '-' as '_' (an inference from AWS's Athena Parquet DDL); '-' is stored as null
(AWS does not document it; null is what Athena reads as '-' in the text table, so queries agree), and
a '-' found in a string column is read as null too, as in text. Compression is gzip, as AWS documents.

Reading follows the text reader's rules (text_codec.py, whose checks it uses): a row holding a value
AWS never writes (an unknown `action` or `log-status`, a negative number, an enumerated number out of
range, a number too large for its type or not a whole number, a string with a blank, a control or a
non-ASCII character) is a bad record, for the `--on-error`
policy, named by file, field and "line": its 1-based row number in the file. Its quarantined form
(in the quarantine's `.bad` file) is the row as stored, one JSON object a line, keyed by the file's
column names. The other rows of its batch are kept.

A file is read a row group at a time (row_groups): each is a unit of work for the pipeline, read on
the pool in batches of BATCH_ROWS; a row group too big to hold is read a batch at a time as it is
delivered (pipeline.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vpcflow.errors import InputError
from vpcflow.records.badrecords import BadRecord
from vpcflow.records.catalog import BY_COLUMN, BY_TOKEN, Field
from vpcflow.records.formats import LogFormat
from vpcflow.records.text_codec import BlockResult, TextLayout, _check_values, _numeric_problems

_PARQUET_TYPES = {"INT_32": pa.int32(), "INT_64": pa.int64(), "STRING": pa.string()}
BATCH_ROWS = 128 * 1024
READ_BUFFER_BYTES = 1 << 20  # a column chunk is read this much at a time, not whole


def format_of(source: str | BinaryIO, name: str) -> LogFormat:
    try:
        schema = pq.read_schema(source)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"not a readable Parquet file: {exc}", source=name) from None
    tokens = []
    for column in schema.names:
        field = BY_COLUMN.get(column) or BY_TOKEN.get(column)
        if field is None:
            raise InputError(f"Parquet column {column!r} is not a flow log field", source=name)
        tokens.append(field.token)
    return LogFormat.parse(" ".join(tokens))


@dataclass(frozen=True)
class RowGroup:
    """One row group of a Parquet input: what the pipeline reads as one job."""

    source: str | _SharedFile
    metadata: pq.FileMetaData
    layout: TextLayout
    name: str
    index: int
    first_row: int  # rows of the file before this one
    size: int  # its columns' estimated size once read (decoded_size)

    def batches(self) -> Iterator[BlockResult]:
        """Its rows, BATCH_ROWS at a time, checked. What this holds at once, whatever the row
        group's size: one batch read and checked, and per column a READ_BUFFER_BYTES read buffer,
        the page being decoded and the column chunk's dictionary, if any. (pyarrow's defaults
        would read the row group's compressed column chunks whole first.)"""
        source = self.source.native if isinstance(self.source, _SharedFile) else self.source
        row = self.first_row
        try:  # the rows before damage are delivered, then reading stops
            parquet = pq.ParquetFile(
                source, metadata=self.metadata, buffer_size=READ_BUFFER_BYTES, pre_buffer=False
            )
            for batch in parquet.iter_batches(BATCH_ROWS, row_groups=[self.index]):
                yield checked(batch, self.layout, self.name, row + 1)
                row += batch.num_rows
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"damaged Parquet data: {exc}", source=self.name) from None


def row_groups(source: str | BinaryIO, fmt: LogFormat, name: str) -> Iterator[RowGroup]:
    """The row groups of a Parquet file or seekable stream, in order."""
    if not isinstance(source, str):
        source = _SharedFile.of(source)
    try:
        metadata = pq.ParquetFile(source.native if isinstance(source, _SharedFile) else source).metadata
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"damaged Parquet data: {exc}", source=name) from None
    layout, first = TextLayout(fmt), 0
    for index in range(metadata.num_row_groups):
        meta = metadata.row_group(index)
        size = decoded_size(meta, fmt)
        yield RowGroup(source, metadata, layout, name, index, first, size)
        first += meta.num_rows


def decoded_size(meta: pq.RowGroupMetaData, fmt: LogFormat) -> int:
    """A row group's estimated size in the catalog's Arrow types, before reading it: numbers by
    their width, strings by offsets and the mean length of the column's min and max (AWS's ids and
    addresses vary little in length) or its encoded size if larger. The encoded size alone is no
    guide: dictionary encoding makes it ~9x smaller than the columns read."""
    total = 0
    for position, f in enumerate(fmt.fields):
        if f.is_numeric:
            total += meta.num_rows * f.arrow_type.byte_width
            continue
        column = meta.column(position)
        stats, length = column.statistics, 16
        if stats is not None and stats.has_min_max and isinstance(stats.min, (str, bytes)):
            length = (len(stats.min) + len(stats.max)) // 2
        total += max(meta.num_rows * (4 + length), column.total_uncompressed_size)
    return total


def checked(raw: pa.RecordBatch, layout: TextLayout, name: str, first_line: int) -> BlockResult:
    """A batch as read, in the catalog's types with '-' as null, its bad rows set aside."""
    fmt = layout.fmt
    columns, problems = [], {}  # problems: {row: (column position, reason)}, the first column wins
    for position, (f, column) in enumerate(zip(fmt.fields, raw.columns, strict=True)):
        if pa.types.is_dictionary(column.type):  # as pyarrow reads a column written from one
            column = column.dictionary_decode()
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = _dash_as_null(column)
            # A field of AWS's text is printable ASCII without blanks; a writer other than AWS
            # may store anything, and text input would take such bytes for a bad line.
            if not f.is_numeric:
                for row in _rows(pc.match_substring_regex(column, NOT_FIELD_TEXT)):
                    problems.setdefault(row, (position, "bytes AWS never writes (blank, control or non-ASCII)"))
        if column.type != f.arrow_type:
            column, found = _cast(column, f, name)
            for row, reason in found.items():
                problems.setdefault(row, (position, reason))
        columns.append(column)
    batch = pa.RecordBatch.from_arrays(columns, schema=fmt.schema)
    for row, (column, reason) in _check_values(pa.Table.from_batches([batch]), layout, typed=True).items():
        position = fmt.columns.index(column)
        if row not in problems or position < problems[row][0]:
            problems[row] = (position, reason)
    if not problems:
        return BlockResult(batch, [])
    rows = sorted(problems)
    stored = raw.take(pa.array(rows)).to_pylist()
    bad = [
        BadRecord(name, first_line + row, fmt.fields[problems[row][0]].token, problems[row][1], _json(values))
        for row, values in zip(rows, stored, strict=True)
    ]
    keep = np.ones(raw.num_rows, dtype=bool)
    keep[rows] = False
    return BlockResult(batch.filter(pa.array(keep)), bad, np.flatnonzero(keep) + first_line)


NOT_FIELD_TEXT = r"[^!-~]"  # a byte outside printable ASCII, or a blank (RE2 class)


def _rows(mask: pa.Array) -> list[int]:
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False)).tolist()


def _dash_as_null(column: pa.Array) -> pa.Array:
    dash = pc.equal(column, "-")
    if not pc.any(dash).as_py():
        return column
    return pc.if_else(dash, pa.scalar(None, column.type), column)


def _cast(column: pa.Array, f: Field, name: str) -> tuple[pa.Array, dict[int, str]]:
    """A column in its field's type, and the rows whose values do not fit it (then null). AWS's
    types always cast; a number stored as a string (`encryption-status`), or one that does not cast
    (too large, a fraction), is checked as text input checks its numbers."""
    textual = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    if not (f.is_numeric and textual):
        try:
            return column.cast(f.arrow_type), {}
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if not f.is_numeric:
                raise InputError(
                    f"Parquet column {f.column!r} of type {column.type} is not text", source=name
                ) from None
    try:
        text = column.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InputError(
            f"Parquet column {f.column!r} of type {column.type} is not a number", source=name
        ) from None
    found = _numeric_problems(pa.chunked_array([text]), f, typed=False)
    if found:
        bad = np.zeros(len(text), dtype=bool)
        bad[list(found)] = True
        text = pc.if_else(pa.array(bad), pa.scalar(None, pa.string()), text)
    return text.cast(f.arrow_type), found


def _json(values: dict) -> bytes:
    return json.dumps(values, default=str).encode()


class _SharedFile:
    """A stream's bytes for the jobs of its row groups, which may run at once and outlive the
    stream (read_many closes an input once its jobs are made). A file's descriptor is duplicated;
    pyarrow's PythonFile locks around each positioned read, so one can serve every job. Other
    streams are read whole: an in-memory stream's bytes are then shared, not copied."""

    def __init__(self, raw: BinaryIO | None, native: pa.NativeFile):
        self.raw, self.native = raw, native

    @classmethod
    def of(cls, stream: BinaryIO) -> _SharedFile:
        try:
            fd = stream.fileno()
        except (AttributeError, OSError):  # io.UnsupportedOperation is an OSError
            stream.seek(0)
            return cls(None, pa.BufferReader(stream.read()))
        raw = os.fdopen(os.dup(fd), "rb", buffering=0)
        return cls(raw, pa.PythonFile(raw, mode="r"))

    def __del__(self):
        if self.raw is not None:
            self.raw.close()


def aws_schema(fmt: LogFormat) -> pa.Schema:
    """The schema AWS's Parquet delivery uses for a format."""
    return pa.schema([pa.field(f.column, _PARQUET_TYPES[f.parquet_type]) for f in fmt.fields])


def write_parquet(table: pa.Table, path, fmt: LogFormat | None = None, *, aws_types: bool = True) -> None:
    """Write records as AWS's Parquet delivery would (gzip, AWS's physical types)."""
    fmt = fmt or LogFormat.parse(" ".join(BY_COLUMN[c].token for c in table.column_names))
    table = table.select(fmt.columns)
    if aws_types:
        table = table.cast(aws_schema(fmt))
    pq.write_table(table, path, compression="gzip")
