"""Golden cases: Athena expressions give Athena's values, and what cannot be translated is refused."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from vpcflow.errors import QueryError
from vpcflow.query import DuckDBEngine, run_sql, to_duckdb

FIXTURES = Path(__file__).parent / "fixtures"


def _cases(name: str) -> list[str]:
    lines = (FIXTURES / name).read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


VALUES = [tuple(line.split("\t")) for line in _cases("athena_values.tsv")]


@pytest.fixture(scope="module")
def bare_engine():
    with DuckDBEngine(None) as engine:
        yield engine


@pytest.mark.parametrize("expression, expected", VALUES, ids=[v[0] for v in VALUES])
def test_athena_expression_value(bare_engine, expression, expected):
    table = run_sql(bare_engine, f"SELECT {expression} AS v")
    value = table.column("v")[0].as_py()
    if isinstance(value, (date, datetime)):
        value = str(value)
    assert value == json.loads(expected)


@pytest.mark.parametrize("sql", _cases("athena_refused.txt"))
def test_untranslatable_sql_is_refused(lake, sql):
    with DuckDBEngine(lake) as engine, pytest.raises(QueryError):
        run_sql(engine, sql)


def test_parse_error_points_at_the_token():
    with pytest.raises(QueryError) as err:
        to_duckdb("SELECT srcaddr\nFROM vpc_flow_logs\nWHERE dstport = = 443")
    message = str(err.value)
    assert "line 3, column 17" in message
    text, caret = message.splitlines()[-2:]
    assert text.strip() == "WHERE dstport = = 443"
    assert text[caret.index("^")] == "="


def test_unknown_function_points_at_its_name():
    with pytest.raises(QueryError) as err:
        to_duckdb("SELECT\n  interface_id, format_datetime(from_unixtime(start), 'yyyy') FROM vpc_flow_logs")
    text, caret = str(err.value).splitlines()[-2:]
    assert "format_datetime" in str(err.value)
    assert text[caret.index("^") :].startswith("format_datetime")


def test_unaliased_columns_are_named_as_athena_names_them(engine):
    table = run_sql(engine, "SELECT count(*), srcaddr, max(bytes) FROM vpc_flow_logs GROUP BY srcaddr")
    assert table.schema.names == ["_col0", "srcaddr", "_col2"]


def test_duckdb_dialect_runs_as_is(engine, records):
    table = run_sql(
        engine, "SELECT count(*) AS n FROM vpc_flow_logs WHERE srcaddr::VARCHAR LIKE '10.%'", dialect="duckdb"
    )
    assert table.column("n")[0].as_py() == sum(1 for r in records if (r["srcaddr"] or "").startswith("10."))


def test_unknown_dialect_is_refused():
    with pytest.raises(QueryError, match="unknown dialect"):
        to_duckdb("SELECT 1", "mysql")


def test_a_name_resolves_as_athena_resolves_it(engine, records):
    """An output alias that shadows a column: WHERE and GROUP BY mean the column, ORDER BY the
    alias (Trino's rules). Checked end to end, since translation leaves names to the engine."""
    rows = run_sql(
        engine,
        "SELECT srcaddr AS dstaddr, upper(action) AS action FROM vpc_flow_logs "
        "WHERE dstaddr = '192.0.2.10' AND action = 'ACCEPT' ORDER BY dstaddr DESC",
    ).to_pylist()
    expected = sorted(
        (r["srcaddr"] for r in records if r["dstaddr"] == "192.0.2.10" and r["action"] == "ACCEPT"),
        key=lambda v: (v is not None, v),
        reverse=True,
    )
    assert expected and [r["dstaddr"] for r in rows] == expected
    grouped = run_sql(
        engine, "SELECT dstaddr AS srcaddr, count(*) AS n FROM vpc_flow_logs GROUP BY dstaddr ORDER BY 2, 1"
    )
    assert sum(grouped.column("n").to_pylist()) == len(records)
    assert len(grouped) == len({r["dstaddr"] for r in records})


def test_a_statement_is_translated_once_and_a_bad_one_raises_every_time(monkeypatch):
    from vpcflow.query import dialects
    from vpcflow.query.dialects import athena

    calls = []
    real = athena.translate
    monkeypatch.setattr(athena, "translate", lambda sql: calls.append(sql) or real(sql))
    sql = "SELECT count(*) AS n FROM vpc_flow_logs WHERE dstport = 4443 -- translated once"
    first = dialects.translate(sql, "athena", "duckdb")
    assert dialects.translate(sql, "athena", "duckdb") == first and calls == [sql]
    for _ in range(2):
        with pytest.raises(QueryError, match="format_datetime"):
            dialects.translate("SELECT format_datetime(x, 'y') -- cached?", "athena", "duckdb")
