"""Query dialects, one module each: `athena` (Trino SQL, translated) and `duckdb` (as is)."""

from __future__ import annotations

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
