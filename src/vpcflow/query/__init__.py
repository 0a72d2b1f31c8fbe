"""vpcflow.query: Athena SQL and CloudWatch Logs Insights queries over a lake, on embedded DuckDB.

    engine = open_engine("lake/")                     # DuckDB now; the seam for Spark and Athena
    run_sql(engine, "SELECT ... FROM vpc_flow_logs")  # Athena (Trino) SQL, translated by sqlglot
    run_sql(engine, "SELECT ...", dialect="duckdb")   # DuckDB SQL as is
    run_insights(engine, "filter action='REJECT' | stats count(*) by srcAddr")

Errors are `vpcflow.errors.QueryError` (with line, column and a caret where there is a position).
"""

from __future__ import annotations

import pyarrow as pa

from vpcflow.query.dialects import DIALECTS, to_duckdb
from vpcflow.query.engine import DuckDBEngine, Engine, open_engine

__all__ = ["DIALECTS", "DuckDBEngine", "Engine", "open_engine", "run_insights", "run_sql", "to_duckdb"]


def run_sql(engine: Engine, sql: str, dialect: str = "athena") -> pa.Table:
    """The rows `sql` (in `dialect`) returns over the engine's lake."""
    return engine.query(to_duckdb(sql, dialect))


def run_insights(engine: Engine, query: str, **options) -> pa.Table:
    """The rows a CloudWatch Logs Insights query returns over the lake's `vpc_flow_logs`."""
    from vpcflow.query.insights import compile_insights

    return engine.query(compile_insights(query, **options))
