"""What an Athena query would scan and cost, offline, from the lake's Parquet metadata.

Athena bills the bytes it reads from S3. On Parquet it reads only the column chunks of the columns a
query uses, in the partitions its partition predicates keep; partition columns come from folder
names and cost nothing. So the estimate of one scan of a table is

    sum over the files of the partitions kept, of the compressed sizes of the used columns' chunks

and a query's estimate is the sum over its scans (a self-join reads the table twice). Both are read
from the Parquet footers of the lake's files: no data is read, no AWS call is made.

Which partitions a scan keeps: the conjuncts of its WHERE that use only that table's partition
columns (`date`, `year`, `month`, `day`, `hour`, `aws_account_id`, `aws_region`; `region` and `day`
of `test_table_vpclogs`), evaluated against each file's folder values on DuckDB (with the same
translation as queries, so `date > current_date - interval '7' day` keeps what the query keeps).
Anything else - a predicate mixing partition and data columns, one inside an OR, a join condition -
is not used for pruning, so the figure is an upper bound; Athena can also skip row groups by their
min/max statistics, which this does not model. `count(*)` alone reads no column chunk.

Price (`PRICE_PER_TB`): AWS's Athena pricing page, https://aws.amazon.com/athena/pricing/, SQL
queries, US East (N. Virginia): "$5.00 per TB of data scanned", "rounded up to the nearest
megabyte, with a 10 MB minimum per query" (read 2026-11 through transcriptions of the page, e.g.
Stanford's rcpedia and athena.guide, as the AWS page itself was not reachable from here; other
Regions differ: pass `price_per_tb`). AWS does not define its TB; we take 2**40 bytes (and MB =
2**20), as the reports take GB = 2**30.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from vpcflow.errors import QueryError
from vpcflow.query.dialects import athena
from vpcflow.query.tables import LAKE_TABLES, PROJECTION_TABLE

PRICE_PER_TB = 5.00
TB = 1 << 40
MB = 1 << 20
MINIMUM_BYTES = 10 * MB
_PARTITION_COLUMNS = {
    "vpc_flow_logs": ("date", "year", "month", "day", "hour", "aws_account_id", "aws_region"),
    "tgw_flow_logs": ("date", "year", "month", "day", "hour", "aws_account_id", "aws_region"),
    PROJECTION_TABLE: ("region", "day"),
}
_FOLDERS = {spec.name: spec.folder for spec in LAKE_TABLES} | {PROJECTION_TABLE: "vpc_flow_logs"}


@dataclass
class Scan:
    table: str
    columns: list[str]  # data columns read
    files: int
    partitions: int
    bytes: int


@dataclass
class Estimate:
    scans: list[Scan] = field(default_factory=list)
    price_per_tb: float = PRICE_PER_TB

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.scans)

    @property
    def billed_bytes(self) -> int:
        """Rounded up to the megabyte, at least 10 MB (AWS's rule per query)."""
        return max(MINIMUM_BYTES, math.ceil(self.bytes / MB) * MB)

    @property
    def usd(self) -> float:
        return self.billed_bytes / TB * self.price_per_tb

    def text(self) -> str:
        lines = []
        for s in self.scans:
            cols = ", ".join(s.columns) if s.columns else "(no data column)"
            lines.append(f"scan of {s.table}: {s.partitions} partitions, {s.files} files, "
                         f"{_size(s.bytes)} in columns {cols}")  # fmt: skip
        lines.append(f"Athena would scan about {_size(self.bytes)} (an upper bound); billed {_size(self.billed_bytes)} "
                     f"(rounded up to the MB, 10 MB minimum): ${self.usd:.6f} at ${self.price_per_tb:.2f} per TB "
                     "(us-east-1, aws.amazon.com/athena/pricing)")  # fmt: skip
        return "\n".join(lines)


def _size(n: int) -> str:
    for unit, size in (("TB", TB), ("GB", 1 << 30), ("MB", MB), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f} {unit} ({n:,} bytes)"
    return f"{n:,} bytes"


def estimate(lake: str | Path, sql: str, *, price_per_tb: float = PRICE_PER_TB) -> Estimate:
    """The bytes Athena would scan for the Athena SQL `sql` over the data of `lake`, and the price."""
    root = Path(lake)
    if not root.is_dir():
        raise QueryError(f"{root}: no such lake folder for --estimate")
    tree = athena.prepare(sql, qualified=True)
    if not isinstance(tree, exp.Query):
        return Estimate(price_per_tb=price_per_tb)
    files = _FileIndex(root)
    result = Estimate(price_per_tb=price_per_tb)
    for scope in traverse_scope(tree):
        for alias, source in scope.sources.items():
            if not isinstance(source, exp.Table) or source.name.lower() not in _PARTITION_COLUMNS:
                continue
            table = source.name.lower()
            columns = _used_columns(scope, alias, table)
            kept = files.select(table, alias, _partition_conjuncts(scope, alias, table))
            result.scans.append(Scan(table, sorted(columns), len(kept), len({p.parent for p in kept}),
                                     sum(files.column_bytes(p, columns) for p in kept)))  # fmt: skip
    return result


def _data_columns(table: str) -> list[str]:
    if table == PROJECTION_TABLE:
        from vpcflow.query.tables import PROJECTION_COLUMNS

        return list(PROJECTION_COLUMNS)
    return [spec.schema.names for spec in LAKE_TABLES if spec.name == table][0]


def _used_columns(scope, alias: str, table: str) -> set[str]:
    data = set(_data_columns(table))
    select = scope.expression
    stars = [e for e in getattr(select, "expressions", []) if isinstance(e, exp.Star)
             or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star) and e.table in ("", alias))]  # fmt: skip
    if stars:
        return data
    return {c.name.lower() for c in scope.columns if c.table == alias and c.name.lower() in data}


def _partition_conjuncts(scope, alias: str, table: str) -> list[exp.Expression]:
    where = scope.expression.args.get("where") if isinstance(scope.expression, exp.Select) else None
    if where is None:
        return []
    keys = set(_PARTITION_COLUMNS[table])
    kept = []
    for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        columns = list(conjunct.find_all(exp.Column))
        if (columns and not conjunct.find(exp.Query)
                and all(c.table == alias and c.name.lower() in keys for c in columns)):  # fmt: skip
            kept.append(conjunct.copy())
    return kept


class _FileIndex:
    """The lake's Parquet files with their folder values, and their column chunk sizes (cached)."""

    def __init__(self, root: Path):
        self.root = root
        self._sizes: dict[Path, dict[str, int]] = {}
        self._con = duckdb.connect()
        self._con.execute("SET TimeZone = 'UTC'")

    def _listing(self, table: str) -> pa.Table:
        rows = []
        for path in sorted((self.root / _FOLDERS[table]).rglob("part-*.parquet")):
            values = dict(
                p.split("=", 1) for p in path.relative_to(self.root / _FOLDERS[table]).parts[:-1] if "=" in p
            )
            if not {"aws_account_id", "aws_region", "year", "month", "day"} <= values.keys():
                continue
            y, m, d = values["year"], values["month"], values["day"]
            if table == PROJECTION_TABLE:
                rows.append(
                    {"vpcflow_path": str(path), "region": values["aws_region"], "day": f"{y}/{m}/{d}"}
                )
            else:
                rows.append({"vpcflow_path": str(path), "date": f"{y}-{m}-{d}", "year": y, "month": m, "day": d,
                             "hour": values.get("hour"), "aws_account_id": values["aws_account_id"],
                             "aws_region": values["aws_region"]})  # fmt: skip
        names = ["vpcflow_path", *_PARTITION_COLUMNS[table]]
        return pa.table({n: pa.array([r[n] for r in rows], pa.string()) for n in names})

    def select(self, table: str, alias: str, conjuncts: list[exp.Expression]) -> list[Path]:
        listing = self._listing(table)
        self._con.register("vpcflow_listing", listing)
        date = "CAST(date AS DATE) AS date, " if "date" in listing.column_names else ""
        others = ", ".join(f'"{n}"' for n in listing.column_names if n != "date")
        self._con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{alias}" AS SELECT {date}{others} FROM vpcflow_listing'
        )
        query = exp.select("vpcflow_path").from_(exp.to_table(alias, quoted=True))
        if conjuncts:
            query = query.where(exp.and_(*conjuncts))
        sql = athena.render(query.transform(athena._athena_semantics), athena.WRITE)
        try:
            paths = [Path(r[0]) for r in self._con.execute(sql).fetchall()]
        except duckdb.Error as exc:
            raise QueryError(f"--estimate: cannot evaluate the partition predicates: {exc}") from None
        finally:
            self._con.unregister("vpcflow_listing")
        return paths

    def column_bytes(self, path: Path, columns: set[str]) -> int:
        if path not in self._sizes:
            meta = pq.ParquetFile(path).metadata
            sizes: dict[str, int] = {}
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                for c in range(group.num_columns):
                    chunk = group.column(c)
                    name = chunk.path_in_schema.split(".")[0].lower()
                    sizes[name] = sizes.get(name, 0) + chunk.total_compressed_size
            self._sizes[path] = sizes
        return sum(v for k, v in self._sizes[path].items() if k in columns)
