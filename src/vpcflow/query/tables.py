"""The tables a lake exposes to SQL, as DuckDB view definitions over its Parquet files.

The lake's layout is a contract with `vpcflow.lake` (see `vpcflow.lake.layout`):

    LAKE/vpc_flow_logs/aws_account_id=…/aws_region=…/year=YYYY/month=MM/day=DD[/hour=HH]/part-*.parquet

Tables, each a view (so that DuckDB pushes filters on partition columns down to the file list and
opens only the partitions a query needs):

- `vpc_flow_logs`: every record column in AWS's Athena DDL order (the 29 DDL columns, then the
  v7+ columns), then the partition columns of both AWS DDLs - `date` (DATE, as the text-table DDL),
  `year`, `month`, `day`, `hour` (strings, as the Parquet/projection DDLs; `hour` is NULL in daily
  partitions) - and the lake's own `aws_account_id`, `aws_region`.
- `tgw_flow_logs`: the same for Transit Gateway flow logs, when the lake has any.
- `test_table_vpclogs`: AWS's partition-projection example table (spec §7.4) exactly: its 28 data
  columns (no `region` column: AWS's DDL makes `region` a partition key), then the partition columns
  `region` (the lake's `aws_region`) and `day` formatted `yyyy/MM/dd`, so that AWS's example queries
  run unchanged.

Partition columns are computed from the folder names only (never from record columns): DuckDB prunes
files on expressions over Hive columns, and a record column in the expression would defeat that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from vpcflow.records.catalog import ATHENA_COLUMNS, tgw_schema, vpc_schema

PARTITION_KEYS = ("aws_account_id", "aws_region", "year", "month", "day")
_HIVE = "aws_account_id=*/aws_region=*/year=*/month=*/day=*"
DAILY_GLOB = f"{_HIVE}/part-*.parquet"
HOURLY_GLOB = f"{_HIVE}/hour=*/part-*.parquet"

# Computed from the Hive folder values only, so that DuckDB can evaluate them per file.
_DATE = "CAST(year || '-' || month || '-' || day AS DATE)"
_PROJECTION_DAY = "year || '/' || month || '/' || day"

_DUCKDB_TYPES = {pa.int32(): "INTEGER", pa.int64(): "BIGINT", pa.string(): "VARCHAR"}


@dataclass(frozen=True)
class TableSpec:
    name: str  # SQL name
    folder: str  # folder under the lake root
    schema: pa.Schema  # record columns, in file order


LAKE_TABLES = (
    TableSpec("vpc_flow_logs", "vpc_flow_logs", vpc_schema()),
    TableSpec("tgw_flow_logs", "tgw_flow_logs", tgw_schema()),
)
PARTITION_COLUMNS = ("date", "year", "month", "day", "hour", "aws_account_id", "aws_region")
PROJECTION_TABLE = "test_table_vpclogs"
PROJECTION_COLUMNS = tuple(c for c in ATHENA_COLUMNS if c != "region")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _has_file(folder: Path, pattern: str) -> bool:
    return next(iter(folder.glob(pattern)), None) is not None


def _scan(folder: Path, pattern: str, *, hourly: bool) -> str:
    keys = PARTITION_KEYS + (("hour",) if hourly else ())
    types = "{" + ", ".join(f"'{k}': 'VARCHAR'" for k in keys) + "}"
    glob = _literal(str(folder / pattern))
    # hive_types keeps '01' a string (auto-detection would make it the integer 1).
    return f"read_parquet({glob}, hive_partitioning = true, hive_types = {types})"


def _record_select(schema: pa.Schema, columns: tuple[str, ...] | None = None) -> list[str]:
    names = columns or tuple(schema.names)
    return [_quote(n) for n in names]


def _empty(schema: pa.Schema, extra: dict[str, str]) -> str:
    cols = [f"CAST(NULL AS {_DUCKDB_TYPES[f.type]}) AS {_quote(f.name)}" for f in schema]
    cols += [f"CAST(NULL AS {t}) AS {_quote(n)}" for n, t in extra.items()]
    return f"SELECT {', '.join(cols)} WHERE false"


def _branches(folder: Path, columns: list[str]) -> list[str]:
    """One SELECT per partition depth present (daily, hourly); empty when the table has no file."""
    branches = []
    for pattern, hourly in ((DAILY_GLOB, False), (HOURLY_GLOB, True)):
        if folder.is_dir() and _has_file(folder, pattern):
            cols = [
                c if c != "hour" else ("hour" if hourly else "CAST(NULL AS VARCHAR) AS hour") for c in columns
            ]
            branches.append(f"SELECT {', '.join(cols)} FROM {_scan(folder, pattern, hourly=hourly)}")
    return branches


def table_views(root: Path) -> dict[str, str]:
    """`CREATE VIEW` bodies for every table of the lake at `root`, by table name."""
    views: dict[str, str] = {}
    partition_types = {"date": "DATE", "year": "VARCHAR", "month": "VARCHAR", "day": "VARCHAR",
                       "hour": "VARCHAR", "aws_account_id": "VARCHAR", "aws_region": "VARCHAR"}  # fmt: skip
    for spec in LAKE_TABLES:
        folder = root / spec.folder
        columns = _record_select(spec.schema) + [f"{_DATE} AS date", "year", "month", "day", "hour"]
        columns += ["aws_account_id", "aws_region"]
        branches = _branches(folder, columns)
        if not branches and spec.name != "vpc_flow_logs":
            continue  # tgw_flow_logs exists only in lakes that hold Transit Gateway logs
        views[spec.name] = " UNION ALL ".join(branches) or _empty(spec.schema, partition_types)
        if spec.name == "vpc_flow_logs":
            proj = _record_select(spec.schema, PROJECTION_COLUMNS)
            proj += ["aws_region AS region", f"{_PROJECTION_DAY} AS day"]
            proj_branches = _branches(folder, proj)
            empty_schema = pa.schema([spec.schema.field(c) for c in PROJECTION_COLUMNS])
            views[PROJECTION_TABLE] = " UNION ALL ".join(proj_branches) or _empty(
                empty_schema, {"region": "VARCHAR", "day": "VARCHAR"}
            )
    return views


def duckdb_type(arrow_type: pa.DataType) -> str:
    return _DUCKDB_TYPES[arrow_type]


def sql_schemas() -> dict[str, dict[str, str]]:
    """Column types of every table, for sqlglot's type annotation (Athena/Trino type names)."""
    names = {pa.int32(): "INT", pa.int64(): "BIGINT", pa.string(): "VARCHAR"}
    partitions = {"date": "DATE", "year": "VARCHAR", "month": "VARCHAR", "day": "VARCHAR",
                  "hour": "VARCHAR", "aws_account_id": "VARCHAR", "aws_region": "VARCHAR"}  # fmt: skip
    schemas = {}
    for spec in LAKE_TABLES:
        schemas[spec.name] = {f.name: names[f.type] for f in spec.schema} | partitions
    vpc = LAKE_TABLES[0].schema
    schemas[PROJECTION_TABLE] = {c: names[vpc.field(c).type] for c in PROJECTION_COLUMNS} | {
        "region": "VARCHAR",
        "day": "VARCHAR",
    }
    return schemas
