"""The days on which a lake's records start, proven from its files, so that a report can run one
statement a day.

Why: DuckDB's hash aggregate slows down as its table outgrows the caches. On the benchmark's lake
of one-off pairs, top-talkers' 98M (hour, pair) groups take 43 s in one statement and 22 s in one
statement per day (BENCHMARKS.md). A day's statement is exact only if it sees every record of its
buckets: records start on its day (a bucket that divides a day never straddles two) and the lake
partitions by `end` (flowlogs.md §4.1), so they lie in that day's partition or the next one. AWS's
`end` is within the aggregation interval of `start`, but a lake may hold anything, so the files'
statistics must prove it: every file's `start` within its partition's day or the day before, and no
record without a `start`. Otherwise there are no days, and the report runs one statement.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vpcflow.reports.source import Period, Source, partition_files

DAY = 86_400


def start_days(source: Source, period: Period) -> list[int] | None:
    """The days (Unix seconds at 00:00 UTC) on which the period's records may start, when every
    file of the lake that can hold them proves that its records start on its partition's day or the
    day before; None when one does not (or the lake is not a local folder)."""
    days: set[int] = set()
    files = partition_files(source)
    if not files:
        return None
    for path, day in files:
        if day is None:
            return None  # outside the layout: its records may start on any day
        if not period.holds_day(day):
            continue
        midnight = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        span = start_span(path)
        if span == ():
            continue  # no records
        if span is None or span[0] < midnight - DAY or span[1] >= midnight + DAY:
            return None
        days.update(range(span[0] - span[0] % DAY, span[1] - span[1] % DAY + 1, DAY))
    return sorted(days)


def start_span(path: Path) -> tuple[int, int] | tuple[()] | None:
    """The least and greatest `start` of a file, from its row groups' statistics; () for a file of
    no records; None when a row group has no statistics or a record has no `start`."""
    try:
        meta = pq.ParquetFile(path).metadata
    except (OSError, pa.ArrowException):
        return None  # unreadable: the one statement will say so, naming the file
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    if "start" not in names:
        return None
    column = names.index("start")
    low = high = None
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(column).statistics
        if meta.row_group(g).num_rows == 0:
            continue
        if stats is None or not stats.has_min_max or stats.null_count is None or stats.null_count > 0:
            return None
        low = stats.min if low is None else min(low, stats.min)
        high = stats.max if high is None else max(high, stats.max)
    return () if low is None else (int(low), int(high))


def day_predicate(day: int) -> str:
    """SQL over `vpc_flow_logs`: the records that start on `day`, with partition pruning to the two
    days whose partitions can hold them."""
    first, second = (datetime.fromtimestamp(d, UTC) for d in (day, day + DAY))
    return (
        f"date >= DATE '{first:%Y-%m-%d}' AND date <= DATE '{second:%Y-%m-%d}' "
        f"AND start >= {day} AND start < {day + DAY}"
    )
