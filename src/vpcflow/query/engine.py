"""Query engines behind one small interface, `Engine`: DuckDB here; Spark (`engine_spark`) and
Athena (`engine_athena`) in their own modules, imported only when chosen.

Every DuckDB call of the query layer goes through `DuckDBEngine` (DuckDB 2.0 changed its Python
API: relations lost `fetchone()`, and a connection with an unfinished result refuses new
statements, so each call here runs one statement and drains it before returning).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from vpcflow.errors import LakeError, QueryError
from vpcflow.query.insights import functions as insights_functions
from vpcflow.query.tables import table_views

# Athena functions DuckDB lacks, as macros. Trino's to_iso8601 writes a UTC timestamp with time zone
# as 2021-04-01T00:00:00.000Z (milliseconds, 'Z'); dates as 2021-04-01. The session zone is UTC.
ATHENA_MACROS = (
    """CREATE OR REPLACE MACRO to_iso8601(x) AS CASE typeof(x)
         WHEN 'DATE' THEN strftime(CAST(x AS DATE), '%Y-%m-%d')
         WHEN 'TIMESTAMP WITH TIME ZONE' THEN strftime(CAST(x AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%g') || 'Z'
         ELSE strftime(CAST(x AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%g') END""",
)


class Engine(Protocol):
    """What the query layer needs from an engine: run SQL of its own dialect, return Arrow."""

    name: str
    dialect: str  # the sqlglot dialect its SQL is written in

    def query(self, sql: str) -> pa.Table: ...

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]: ...

    def tables(self) -> list[str]: ...

    def close(self) -> None: ...


class DuckDBEngine:
    """An in-memory DuckDB session over a lake folder: UTC, the lake's tables as views."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, lake: str | os.PathLike | None = None, *, threads: int | None = None):
        self.root = Path(lake) if lake is not None else None
        if self.root is not None and not self.root.is_dir():
            raise LakeError(
                f"{self.root}: no such lake folder; run `vpcflow ingest SRC --lake {self.root}` first"
            )
        self._con = duckdb.connect(":memory:")
        self._lock = threading.Lock()  # one statement at a time on the one connection
        self._views: dict[str, str] = {}
        self._run("SET TimeZone = 'UTC'")
        # Keep each Parquet file's footer between statements: a LIMIT query on a lake otherwise spends
        # a third of its time re-reading footers (3 of 9 ms on the bench lake). Safe for a lake: ingest
        # never rewrites a file in place (names carry the transaction id), and DuckDB re-reads a footer
        # whose file changed (tests/query/test_engine.py rewrites a file under a live session).
        self._run("SET parquet_metadata_cache = true")
        if threads:
            self._run(f"SET threads = {int(threads)}")
        for macro in ATHENA_MACROS:
            self._run(macro)
        insights_functions.install(self._con)
        self.refresh()

    def refresh(self) -> None:
        """(Re)define the lake's views: a long session sees tables and partition depths added since."""
        if self.root is None:
            return
        views = table_views(self.root)
        for name, body in views.items():
            if self._views.get(name) != body:
                self._run(f'CREATE OR REPLACE VIEW "{name}" AS {body}')
        for name in set(self._views) - set(views):
            self._run(f'DROP VIEW IF EXISTS "{name}"')
        self._views = views

    def tables(self) -> list[str]:
        return sorted(self._views)

    def _run(self, sql: str) -> None:
        with self._lock:
            try:
                self._con.execute(sql).fetchall()
            except duckdb.Error as exc:
                raise QueryError(_duckdb_message(exc)) from None

    def query(self, sql: str) -> pa.Table:
        """Run one statement and return all of its rows."""
        with self._lock:
            try:
                relation = self._con.sql(sql)
                return _narrow(relation.to_arrow_table()) if relation is not None else pa.table({})
            except duckdb.Error as exc:
                raise QueryError(_duckdb_message(exc)) from None

    def batches(self, sql: str, batch_rows: int = 1 << 16) -> Iterator[pa.RecordBatch]:
        """Stream the rows of one statement; the connection is busy until the iterator is drained."""
        with self._lock:
            try:
                relation = self._con.sql(sql)
                if relation is not None:
                    for batch in relation.to_arrow_reader(batch_rows):
                        yield _narrow(batch)
            except duckdb.Error as exc:
                raise QueryError(_duckdb_message(exc)) from None

    def scalar(self, sql: str):
        table = self.query(sql)
        return table.column(0)[0].as_py() if table.num_rows else None

    def explain_analyze(self, sql: str) -> str:
        """DuckDB's profile of a run of `sql` (used to show which files a query opened)."""
        table = self.query(f"EXPLAIN ANALYZE {sql}")
        return "\n".join(str(v) for v in table.column(table.num_columns - 1).to_pylist())

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_HUGEINT = pa.decimal128(38, 0)


def _narrow(data):
    """DuckDB sums integers into HUGEINT (Arrow decimal128(38, 0)); Athena's and Insights' sums of
    integers are integers, so such columns come back as int64 (they stay decimal if one overflows)."""
    for i, column_type in enumerate(data.schema.types):
        if column_type == _HUGEINT:
            try:
                narrowed = data.column(i).cast(pa.int64())
            except pa.ArrowInvalid:
                continue
            data = data.set_column(i, data.schema.field(i).with_type(pa.int64()), narrowed)
    return data


def _duckdb_message(exc: duckdb.Error) -> str:
    text = str(exc).strip()
    return f"DuckDB: {text}"


ENGINES = ("duckdb", "spark", "athena")


def open_engine(lake: str | os.PathLike | None, engine: str = "duckdb", **options) -> Engine:
    """An engine over `lake`: `duckdb` (embedded), `spark` (options: `master`, `spark`), or `athena`
    (options: those of `vpcflow.query.engine_athena.AthenaConfig`, or `config=`). Spark and Athena are
    imported only when chosen: they are optional extras."""
    if engine == "duckdb":
        return DuckDBEngine(lake, **options)
    if engine == "spark":
        from vpcflow.query.engine_spark import SparkEngine

        if lake is None:
            raise QueryError("--engine spark reads a lake: give --lake DIR (or s3a://bucket/prefix)")
        return SparkEngine(lake, **options)
    if engine == "athena":
        from vpcflow.query.engine_athena import AthenaConfig, AthenaEngine

        config = options.pop("config", None) or AthenaConfig(**options)
        return AthenaEngine(config)
    raise QueryError(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}")
