"""Query dialects, one module each: `athena` (Trino SQL, translated), `duckdb` (as is), and the
writers for the scale-out engines (`spark`; Athena runs Athena SQL as is)."""

from __future__ import annotations

import functools

from vpcflow.errors import QueryError
from vpcflow.query.dialects import athena

DIALECTS = ("athena", "duckdb")


def to_duckdb(sql: str, dialect: str = "athena") -> str:
    """The DuckDB SQL that answers `sql` written in `dialect`."""
    if dialect == "athena":
        return athena.translate(sql)
    if dialect == "duckdb":
        return sql
    raise QueryError(f"unknown dialect {dialect!r}; use one of: {', '.join(DIALECTS)}")


# A statement re-run (the console, a dashboard, a script in a loop) is translated once: the answer
# depends on the text alone (the lake's schema is fixed), and a translation right after a query
# costs 0.7-1 ms (cold caches), a tenth of a LIMIT query. Errors are not cached: they raise.
@functools.lru_cache(maxsize=256)
def translate(sql: str, dialect: str, target: str) -> str:
    """`sql` written in `dialect` (athena or duckdb) as SQL an engine of `target` runs
    (duckdb, spark or athena), with the answers of `dialect`."""
    if dialect not in DIALECTS:
        raise QueryError(f"unknown dialect {dialect!r}; use one of: {', '.join(DIALECTS)}")
    if target == "duckdb":
        return to_duckdb(sql, dialect)
    from vpcflow.query.dialects import spark

    if target == "spark":
        return spark.translate(sql) if dialect == "athena" else spark.from_duckdb(sql, "spark")
    if target == "athena":
        if dialect == "athena":
            athena.prepare(sql)  # the same checks as on DuckDB; Athena then runs the text as written
            return sql
        return spark.from_duckdb(sql, "athena")
    raise QueryError(f"unknown engine dialect {target!r}")
