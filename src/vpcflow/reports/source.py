"""Where reports read records: a lake's `vpc_flow_logs` relation on DuckDB, narrowed to a period.

This is a thin adapter. The project's one DuckDB helper is `vpcflow.query.engine`; when it is
importable we take the connection (and its `vpc_flow_logs` view) from it. Until then we define the
same view here, over the lake's layout contract (vpcflow.lake.layout): Hive partitions
`aws_account_id/aws_region/year/month/day[/hour]` of Parquet files holding every `vpc_schema()`
column, plus `date`, `year`, `month`, `day`, `hour`.

A period (`--since`, `--until`) becomes two predicates: one on the partition columns, which DuckDB
evaluates against folder names to skip whole files, and one on the record's `end` (the lake
partitions by `end`, flowlogs.md §4.1), which makes the answer exact.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from vpcflow.errors import LakeError, VpcflowError

RELATION = "vpc_flow_logs"


def arrow(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pa.Table:
    """Run one statement to completion and return its rows (DuckDB 2.0: no half-read results)."""
    if params:
        return con.execute(sql, params).fetch_arrow_table()
    return con.sql(sql).to_arrow_table()


def parse_time(text: str | None, *, option: str) -> datetime | None:
    """`2026-11-24`, `2026-11-24T10:00`, `...Z` or Unix seconds, as UTC."""
    if text is None or text == "":
        return None
    text = text.strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise VpcflowError(
            f"{option} {text!r}: not a time; use 2026-11-24, 2026-11-24T10:00Z or Unix seconds"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class Period:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def __post_init__(self):
        if self.since and self.until and self.since >= self.until:
            raise VpcflowError(
                f"--since {self.since:%Y-%m-%dT%H:%M:%SZ} is not before --until {self.until:%Y-%m-%dT%H:%M:%SZ}"
            )

    def predicate(self, hourly: bool = False) -> str:
        """SQL over `vpc_flow_logs`: partition pruning on `date`, plus the exact bound on `end`.

        Pruning is by day even in hourly lakes: DuckDB 2.0 skips files reliably for a comparison on
        the view's `date` column, not for arithmetic over year/month/day/hour (measured in
        tests/reports/test_reports.py::test_since_until_prune_partitions).
        """
        terms = []
        if self.since:
            terms.append(f"date >= DATE '{self.since:%Y-%m-%d}'")
            terms.append(f'"end" >= {int(self.since.timestamp())}')
        if self.until:
            last = self.until - timedelta(microseconds=1)
            terms.append(f"date <= DATE '{last:%Y-%m-%d}'")
            terms.append(f'"end" < {int(self.until.timestamp())}')
        return " AND ".join(terms) or "TRUE"


@dataclass
class Source:
    """An open lake: a connection with the `vpc_flow_logs` view, and whether it has hour folders."""

    con: duckdb.DuckDBPyConnection
    lake: Path
    hourly: bool
    empty: bool

    def where(self, period: Period) -> str:
        return period.predicate(self.hourly)


def open_lake(lake: str | os.PathLike, *, threads: int | None = None) -> Source:
    root = Path(lake)
    if not root.is_dir():
        raise LakeError(f"{root}: no such lake folder; give the folder `vpcflow ingest --lake` wrote")
    table_dir = root / RELATION
    files = (
        [
            p
            for p in table_dir.rglob("*.parquet")
            if not any(part.startswith(("_", ".")) for part in p.relative_to(root).parts)
        ]
        if table_dir.is_dir()
        else []
    )
    hourly = any("hour=" in str(p.relative_to(root)) for p in files[:1])
    con = _engine_connection(root)
    if con is None:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET autoinstall_known_extensions = false")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        _define_view(con, table_dir, hourly, empty=not files)
    return Source(con=con, lake=root, hourly=hourly, empty=not files)


def _engine_connection(root: Path) -> duckdb.DuckDBPyConnection | None:
    # The project's engine, once it lands; its exact entry point is matched loosely on purpose.
    try:
        from vpcflow.query import engine  # type: ignore[attr-defined]
    except ImportError:
        return None
    for name in ("open_lake", "connect", "open"):
        opener = getattr(engine, name, None)
        if callable(opener):
            result = opener(root)
            return getattr(result, "con", result)
    return None


def _define_view(con: duckdb.DuckDBPyConnection, table_dir: Path, hourly: bool, *, empty: bool) -> None:
    from vpcflow.records.catalog import vpc_schema

    columns = ", ".join(f'"{f.name}"' for f in vpc_schema())
    if empty:
        con.register("vpcflow_empty", vpc_schema().empty_table())
        source = "vpcflow_empty"
        partitions = (
            "NULL::DATE AS date, NULL::VARCHAR AS aws_account_id, NULL::VARCHAR AS aws_region, "
            "NULL::INTEGER AS year, NULL::INTEGER AS month, NULL::INTEGER AS day, NULL::INTEGER AS hour"
        )
    else:
        levels = ["*"] * (6 if hourly else 5)
        glob = str(table_dir.joinpath(*levels, "*.parquet"))
        source = (
            f"read_parquet('{glob}', hive_partitioning = true, "
            "hive_types = {'aws_account_id': VARCHAR, 'aws_region': VARCHAR, 'year': INTEGER, "
            "'month': INTEGER, 'day': INTEGER" + (", 'hour': INTEGER" if hourly else "") + "})"
        )
        partitions = "make_date(year, month, day) AS date, aws_account_id, aws_region, year, month, day, " + (
            "hour" if hourly else "NULL::INTEGER AS hour"
        )
    con.execute(f"CREATE OR REPLACE VIEW {RELATION} AS SELECT {columns}, {partitions} FROM {source}")
