"""Which partition each record belongs to, and the records reshaped to the lake's columns.

Partition values (the contract in layout.py): account and region from the S3 key when the object has one, else
the record's `account_id` / `region` columns, else `unknown`; the date (and hour) from the record's
`end` in UTC - AWS names S3 objects by the 5-minute window of `end` times (flowlogs.md §4.1) - else
`start`, else the key's date, else the object's modification time (our choice: AWS documents no
record without both times; S3's Last-Modified is the upload time, minutes after the records).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vpcflow.lake.keys import KeyInfo
from vpcflow.lake.layout import Partition, clean_account, clean_region, table_schema

_SECONDS = {False: 86_400, True: 3_600}
_SHIFT = 1 << 24  # room for the time bucket (hours since 1970 stay below 2**24 until the year 3883)


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Every column of the lake's schema in its order; fields the input lacks are null."""
    n = batch.num_rows
    names = batch.schema.names
    columns = []
    for field in schema:
        if field.name in names:
            column = batch.column(field.name)
            columns.append(column if column.type == field.type else column.cast(field.type))
        else:
            columns.append(pa.nulls(n, field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def split(
    batch: pa.RecordBatch,
    family: str,
    key: KeyInfo | None,
    fallback_stamp: int | None,
    hourly: bool,
) -> Iterator[tuple[Partition, pa.RecordBatch]]:
    """The batch's records by partition, each part conformed to the lake's schema."""
    if batch.num_rows == 0:
        return
    records = conform(batch, table_schema(family))
    bucket = _time_bucket(records, key, fallback_stamp, hourly)
    accounts, account_codes = _values(records, "account_id", key.account if key else None, clean_account)
    regions, region_codes = _values(records, "region", key.region if key else None, clean_region)

    if account_codes is None and region_codes is None and bucket.min() == bucket.max():
        yield _partition(family, accounts[0], regions[0], int(bucket[0]), hourly), records  # the usual case
        return
    base = int(bucket.min())
    code = bucket - base
    if region_codes is not None:
        code = code + region_codes.astype(np.int64) * _SHIFT
    if account_codes is not None:
        code = code + account_codes.astype(np.int64) * (_SHIFT * max(1, len(regions)))
    for value in np.unique(code):
        value = int(value)
        account = (
            accounts[value // (_SHIFT * max(1, len(regions)))] if account_codes is not None else accounts[0]
        )
        region = regions[(value // _SHIFT) % max(1, len(regions))] if region_codes is not None else regions[0]
        part = records.filter(pa.array(code == value))
        yield _partition(family, account, region, base + value % _SHIFT, hourly), part


def _time_bucket(
    records: pa.RecordBatch, key: KeyInfo | None, fallback: int | None, hourly: bool
) -> np.ndarray:
    times = pc.coalesce(records.column("end"), records.column("start"))
    if times.null_count:
        stamp = key.stamp if key is not None and key.stamp is not None else fallback
        times = times.fill_null(stamp if stamp is not None else 0)
    seconds = times.to_numpy(zero_copy_only=False).astype(np.int64)
    return np.maximum(seconds, 0) // _SECONDS[hourly]


def _values(records, column: str, from_key: str | None, clean) -> tuple[list[str], np.ndarray | None]:
    """The partition values of a column: ([value], None) when one value holds for all records,
    else (distinct values, a code per record indexing them)."""
    if from_key is not None:
        return [clean(from_key)], None
    if column not in records.schema.names:
        return [clean(None)], None
    encoded = pc.dictionary_encode(records.column(column).fill_null("unknown"))
    values = [clean(v) for v in encoded.dictionary.to_pylist()]
    if len(set(values)) <= 1:
        return values[:1] or [clean(None)], None
    return values, encoded.indices.to_numpy(zero_copy_only=False)


def _partition(family: str, account: str, region: str, bucket: int, hourly: bool) -> Partition:
    when = datetime.fromtimestamp(bucket * _SECONDS[hourly], UTC)
    hour = f"{when.hour:02d}" if hourly else None
    return Partition(
        family, account, region, f"{when.year:04d}", f"{when.month:02d}", f"{when.day:02d}", hour
    )
