"""AWS's Parquet delivery files: read them into the catalog's types, and write them as AWS does.

AWS stores INT_32 for version, ports, protocol, tcp-flags and traffic-path, INT_64 for packets,
bytes, start and end, STRING for the rest (flowlogs.md §4.3); the catalog's Arrow types follow the
Athena DDL instead (`protocol` bigint), so reading casts and writing casts back. Column names are the
field names with '-' as '_' (an inference from AWS's Athena Parquet DDL); '-' is stored as null
(AWS does not document it; null is what Athena reads as '-' in the text table, so queries agree).
Compression is gzip, as AWS documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from vpcflow.errors import InputError
from vpcflow.records.catalog import BY_COLUMN, BY_TOKEN
from vpcflow.records.formats import LogFormat

_PARQUET_TYPES = {"INT_32": pa.int32(), "INT_64": pa.int64(), "STRING": pa.string()}
BATCH_ROWS = 128 * 1024


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


def read_batches(source: str | BinaryIO, name: str) -> Iterator[pa.RecordBatch]:
    fmt = format_of(source, name)
    schema = fmt.schema
    try:
        parquet = pq.ParquetFile(source)
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            batch = batch.rename_columns(fmt.columns)
            yield batch.cast(schema) if batch.schema != schema else batch
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"damaged Parquet data: {exc}", source=name) from None


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
