"""vpcflow.query: Athena SQL and CloudWatch Logs Insights queries over a lake, on embedded DuckDB
(or Spark and Athena for Athena SQL: `open_engine(lake, "spark")`, docs/scaling.md).

    engine = open_engine("lake/")                     # DuckDB; "spark", "athena" scale out
    run_sql(engine, "SELECT ... FROM vpc_flow_logs")  # Athena (Trino) SQL, translated by sqlglot
    run_sql(engine, "SELECT ...", dialect="duckdb")   # DuckDB SQL as is
    run_insights(engine, "filter action='REJECT' | stats count(*) by srcAddr")

Errors are `vpcflow.errors.QueryError` (with line, column and a caret where there is a position).
"""

from __future__ import annotations

import pyarrow as pa

from vpcflow.query.dialects import DIALECTS, to_duckdb, translate
from vpcflow.query.engine import DuckDBEngine, Engine, open_engine

__all__ = ["DIALECTS", "DuckDBEngine", "Engine", "open_engine", "run_insights", "run_sql", "to_duckdb"]


def run_sql(engine: Engine, sql: str, dialect: str = "athena") -> pa.Table:
    """The rows `sql` (in `dialect`) returns over the engine's lake."""
    return engine.query(translate(sql, dialect, engine.dialect))


def run_insights(engine: Engine, query: str, **options) -> pa.Table:
    """The rows a CloudWatch Logs Insights query returns over the lake's `vpc_flow_logs`."""
    from vpcflow.errors import QueryError
    from vpcflow.query.insights import compile_insights

    if engine.dialect != "duckdb":
        raise QueryError(f"CloudWatch Logs Insights queries run on DuckDB only, not on {engine.name}")

    return engine.query(compile_insights(query, **options))
