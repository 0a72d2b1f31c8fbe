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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from vpcflow.errors import VpcflowError
from vpcflow.lake.layout import Lake
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
            terms.append(f'"end" >= {int(self.since.timestamp())}')
        if self.until:
            last = self.until - timedelta(microseconds=1)
            terms.append(f"date <= DATE '{last:%Y-%m-%d}'")
            terms.append(f'"end" < {int(self.until.timestamp())}')
        return " AND ".join(terms) or "TRUE"


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
        name = f"vpcflow_remote_{next(self._names)}"
        self.con.register(name, self.query(sql))
        return f"SELECT * FROM {name}"


def largest_file(source: Source) -> str | None:
    """The lake's largest `vpc_flow_logs` file, as a SQL string literal's content (a sample on
    which a report chooses between plans of the same answer), or None (no local lake, no file)."""
    if not isinstance(source.lake, Path):
        return None
    files = [p for p in Lake(source.lake).data_files() if p.relative_to(source.lake).parts[0] == RELATION]
    return str(max(files, key=lambda p: p.stat().st_size)).replace("'", "''") if files else None


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
