"""Where reports read records: the lake's `vpc_flow_logs` view, narrowed to a period.

Every query goes through the project's one DuckDB helper, `vpcflow.query.engine.DuckDBEngine`,
which defines the view (record columns plus `date`, `year`, `month`, `day`, `hour`).

A period (`--since`, `--until`) becomes two predicates: one on the partition columns, which DuckDB
evaluates against folder names to skip whole files, and one on the record's `end` (the lake
partitions by `end`, flowlogs.md §4.1), which makes the answer exact.

With a scale-out engine (`open_lake(lake, engine=...)`: Spark or Athena, docs/scaling.md) the part
of a report that reads the records - its aggregation, plain SQL - runs there, translated from DuckDB
SQL by sqlglot (`Source.query`, `Source.relation`); the small aggregated result comes back as Arrow
and everything after it (enrichment by ASOF and range joins, formatting) runs on the local DuckDB.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from vpcflow.errors import VpcflowError
from vpcflow.lake.layout import Lake, Partition
from vpcflow.query.engine import DuckDBEngine

RELATION = "vpc_flow_logs"


def arrow(source: Source, sql: str) -> pa.Table:
    """Run one statement through the engine and return all its rows (sums narrowed to int64)."""
    return source.engine.query(sql)


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

    def predicate(self) -> str:
        """SQL over `vpc_flow_logs`: partition pruning on `date`, plus the exact bound on `end`.

        Pruning is by day even in hourly lakes: DuckDB 2.0 skips files reliably for a comparison on
        the view's `date` column, not for arithmetic over year/month/day/hour through a view
        (tests/reports/test_reports.py::test_since_until_prune_partitions proves the skip).
        """
        terms = []
        if self.since:
            terms.append(f"date >= DATE '{self.since:%Y-%m-%d}'")
        if self.until:
            terms.append(f"date <= DATE '{self.last_day():%Y-%m-%d}'")
        terms.append(self.record_predicate())
        return " AND ".join(t for t in terms if t != "TRUE") or "TRUE"

    def record_predicate(self) -> str:
        """SQL over bare records (a lake file read on its own, without partition columns): the
        exact bound on `end`."""
        terms = []
        if self.since:
            terms.append(f'"end" >= {int(self.since.timestamp())}')
        if self.until:
            terms.append(f'"end" < {int(self.until.timestamp())}')
        return " AND ".join(terms) or "TRUE"

    def last_day(self) -> datetime | None:
        return self.until - timedelta(microseconds=1) if self.until else None

    def holds_day(self, day: date) -> bool:
        """Whether a partition of that day (of `end`) can hold records of the period."""
        return (self.since is None or day >= self.since.date()) and (
            self.until is None or day <= self.last_day().date()
        )


@dataclass
class Source:
    """An open lake: the project's query engine, whose `vpc_flow_logs` view the reports read, and
    optionally a scale-out engine that reads the records instead."""

    engine: DuckDBEngine
    lake: Path | str
    remote: object | None = None  # a vpcflow.query.engine.Engine (spark, athena) or None
    _names: itertools.count = field(default_factory=itertools.count, repr=False)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        # The engine has no call to register Arrow tables or Python functions, which enrichment
        # needs (range tables, the IPv6 parser); this is the one place reports reach past it.
        return self.engine._con

    def where(self, period: Period) -> str:
        return period.predicate()

    def query(self, sql: str) -> pa.Table:
        """Rows of DuckDB SQL that reads only the lake's tables: on the scale-out engine when there is one."""
        if self.remote is None:
            return self.engine.query(sql)
        from vpcflow.query.dialects import translate

        return self.remote.query(translate(sql, "duckdb", self.remote.dialect))

    def relation(self, sql: str) -> str:
        """SQL for the rows of `sql` (DuckDB SQL over the lake's tables) inside a local statement: `sql`
        itself, or, with a scale-out engine, its result run there and registered locally."""
        if self.remote is None:
            return sql
        return self.local(self.query(sql))

    def local(self, rows: pa.Table) -> str:
        """SQL for `rows` inside a local statement: the table registered on the local DuckDB."""
        name = f"vpcflow_rows_{next(self._names)}"
        self.con.register(name, rows)
        return f"SELECT * FROM {name}"


def partition_files(source: Source) -> list[tuple[Path, date | None]]:
    """The lake's `vpc_flow_logs` files with the day of their partition (of `end`), None for a file
    outside the layout (it may hold any day); none for a lake that is not a local folder."""
    if not isinstance(source.lake, Path):
        return []
    found = []
    for path in Lake(source.lake).data_files():
        relative = path.relative_to(source.lake)
        if relative.parts[0] != RELATION:
            continue
        try:
            part = Partition.from_path(str(relative.parent))
            found.append((path, date(int(part.year), int(part.month), int(part.day))))
        except (KeyError, ValueError):
            found.append((path, None))
    return found


def largest_file(source: Source, period: Period | None = None) -> str | None:
    """The largest `vpc_flow_logs` file of the lake that can hold records of `period`, as a SQL
    string literal's content, or None (no local lake, no such file)."""
    period = period or Period()
    files = [path for path, day in partition_files(source) if day is None or period.holds_day(day)]
    return str(max(files, key=lambda p: p.stat().st_size)).replace("'", "''") if files else None


def sample_of(source: Source, period: Period) -> str | None:
    """A sample on which a report chooses between plans of the same answer: the records of the
    period in the lake's largest file that can hold any (`FROM` this, a `WHERE` included, so a
    caller adds terms with AND), or None. One file is 0.2-0.5 s to read on the benchmark lakes;
    DuckDB's `TABLESAMPLE ... (SYSTEM)` still reads every row group, so it is no cheaper."""
    sample = largest_file(source, period)
    return None if sample is None else f"read_parquet('{sample}') WHERE {period.record_predicate()}"


def open_lake(lake: str | os.PathLike | None, *, threads: int | None = None, engine=None) -> Source:
    """The lake for reports; `engine` (an opened Spark or Athena engine) reads the records instead of
    DuckDB, which then only enriches (the lake folder may then be remote, or absent for Athena)."""
    local = lake is not None and "://" not in str(lake)
    if engine is not None and local and not Path(lake).is_dir():
        local = False
    duck = DuckDBEngine(lake if local or engine is None else None, threads=threads)
    duck.query("SET autoinstall_known_extensions = false")
    # Owner enrichment is an ASOF join of a few rows (a report's top 50) on 770k address blocks;
    # DuckDB 2.0 turns one with under 64 rows on the left into a nested loop and an arg_max over
    # every block below each address (18M rows for 50 addresses): 0.21 s against 0.08 s as a join.
    duck.query("SET asof_loop_join_threshold = 0")
    return Source(engine=duck, lake=Path(lake) if local else str(lake), remote=engine)
