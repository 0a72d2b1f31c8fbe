# ruff: noqa: W291 - AWS example queries are kept verbatim, trailing spaces included
"""The Spark engine in local mode gives DuckDB's answers: AWS's Athena example queries over the same
lake, Athena's golden values, the CLI and the reports. One SparkSession for the module (startup
costs seconds), two cores, two shuffle partitions, no UI."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import date, datetime

import pyarrow as pa
import pytest

from vpcflow.errors import QueryError
from vpcflow.query import DuckDBEngine, open_engine, run_sql
from vpcflow.query.dialects import translate

from .test_athena_translation import VALUES, _cases

pytest.importorskip("pyspark", reason="the spark extra is not installed: pip install 'vpcflow[spark]'")


@pytest.fixture(scope="module")
def spark():
    from vpcflow.query.engine_spark import session

    conf = {"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false", "spark.driver.memory": "1g"}
    spark = session("local[2]", app_name="vpcflow-tests", conf=conf)
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def spark_engine(spark, lake):
    engine = open_engine(lake, "spark", spark=spark)
    yield engine
    engine.close()


# AWS's example queries (spec §7.2, §7.4), as in test_athena_examples.py. `ordered` names the
# queries whose LIMIT follows a total order, so both engines must return the very same rows.
EXAMPLES = {
    "select_star_by_date": (
        "SELECT * \nFROM vpc_flow_logs \nWHERE date = DATE('2020-05-04') \nLIMIT 100;",
        False,
    ),
    "rejected_tcp_day_of_week": (
        "SELECT day_of_week(date) AS\n  day,\n  date,\n  interface_id,\n  srcaddr,\n  action,\n  protocol\n"
        "FROM vpc_flow_logs\nWHERE action = 'REJECT' AND protocol = 6\nLIMIT 100;",
        False,
    ),
    "top_443_last_7_days": (
        "SELECT SUM(packets) AS\n  packetcount,\n  dstaddr\nFROM vpc_flow_logs\n"
        "WHERE dstport = 443 AND date > current_date - interval '7' day\nGROUP BY dstaddr\n"
        "ORDER BY packetcount DESC\nLIMIT 10;",
        True,
    ),
    "projection_star_by_day": (
        "SELECT *\nFROM test_table_vpclogs\nWHERE day >= '2021/02/01' AND day < '2021/02/28'\nORDER BY day ASC\nLIMIT 100",
        False,
    ),
    "projection_top_443_march": (
        "SELECT SUM(packets) AS packetcount, \n       dstaddr\nFROM test_table_vpclogs\nWHERE dstport = 443\n"
        "  AND day >= '2021/03/01'\n  AND day < '2021/03/31'\nGROUP BY dstaddr\nORDER BY packetcount DESC\nLIMIT 10",
        True,
    ),
    "projection_iso8601": (
        "SELECT interface_id,\n       srcaddr,\n       action,\n       protocol,\n"
        '       to_iso8601(from_unixtime(start)) AS start_time,\n       to_iso8601(from_unixtime("end")) AS end_time\n'
        "FROM test_table_vpclogs\nWHERE DAY >= '2021/04/01'\n  AND DAY < '2021/04/30'",
        True,
    ),
    "projection_by_source": (
        "SELECT *\nFROM test_table_vpclogs\nWHERE srcaddr = '10.117.1.22'\n  AND day >= '2021/02/01'\n  AND day < '2021/02/28'",
        True,
    ),
    "projection_rejected_tcp": (
        "SELECT day,\n       interface_id,\n       srcaddr,\n       action,\n       protocol\nFROM test_table_vpclogs\n"
        "WHERE action = 'REJECT' AND protocol = 6 AND day >= '2021/02/01' AND day < '2021/02/28'\nLIMIT 10",
        False,
    ),
    "projection_split_part": (
        "SELECT *\nFROM test_table_vpclogs\nWHERE split_part(srcaddr,'.', 1)='10'\n  AND split_part(srcaddr,'.', 2) ='117'",
        True,
    ),
    "projection_by_destination": (
        "SELECT *\nFROM test_table_vpclogs\nWHERE dstaddr = '10.0.1.14'\n  AND day >= '2021/01/01'\n  AND day < '2021/01/31'",
        True,
    ),
}


def _rows(table: pa.Table) -> Counter:
    return Counter(tuple(row.values()) for row in table.to_pylist())


def _types(table: pa.Table) -> list[tuple[str, pa.DataType]]:
    return [(f.name, f.type) for f in table.schema]


def test_aws_examples_same_answers_as_duckdb(spark_engine, lake):
    with DuckDBEngine(lake) as duck:
        for name, (sql, ordered) in EXAMPLES.items():
            got, want = run_sql(spark_engine, sql), run_sql(duck, sql)
            assert _types(got) == _types(want), name
            assert got.num_rows == want.num_rows > 0, name
            if ordered:
                assert _rows(got) == _rows(want), name
            else:  # LIMIT without a total order: any rows the query admits, as on Athena
                admitted = _rows(run_sql(duck, sql.replace("LIMIT", "-- LIMIT")))
                assert not _rows(got) - admitted, name
    # The partition columns as on DuckDB, in daily and hourly partitions alike.
    sql = "SELECT date, year, month, day, hour, aws_account_id, aws_region, count(*) AS n FROM vpc_flow_logs GROUP BY 1, 2, 3, 4, 5, 6, 7"
    with DuckDBEngine(lake) as duck:
        assert _rows(run_sql(spark_engine, sql)) == _rows(run_sql(duck, sql))


def test_athena_golden_values_on_spark(spark_engine):
    """Every expression of athena_values.tsv, in one Spark query: Athena's value."""
    sql = "SELECT " + ",\n".join(f"{expression} AS v{i}" for i, (expression, _) in enumerate(VALUES))
    row = run_sql(spark_engine, sql).to_pylist()[0]
    for i, (expression, expected) in enumerate(VALUES):
        value = row[f"v{i}"]
        if isinstance(value, (date, datetime)):
            value = str(value)
        assert value == json.loads(expected), expression


def test_refused_sql_is_refused_on_spark(spark_engine):
    """What vpcflow refuses on DuckDB is refused on Spark (by the translation, or by Spark's analyser
    before any data is read: parse_datetime and nosuchcolumn)."""
    for sql in _cases("athena_refused.txt"):
        with pytest.raises(QueryError):
            run_sql(spark_engine, sql)
    assert "DIV" in translate("SELECT bytes / packets FROM vpc_flow_logs", "athena", "spark")


def test_cli_query_on_spark(spark_engine, lake):
    from typer.testing import CliRunner

    from vpcflow.cli import app

    sql = "SELECT action, count(*) AS n FROM vpc_flow_logs GROUP BY action ORDER BY action"
    # The command's session builder finds the module's session and uses it (getOrCreate).
    result = CliRunner().invoke(app, ["query", sql, "--lake", str(lake), "--engine", "spark", "-o", "json"])
    assert result.exit_code == 0, result.output
    with DuckDBEngine(lake) as duck:
        assert [json.loads(line) for line in result.stdout.splitlines()] == run_sql(duck, sql).to_pylist()


def test_missing_pyspark_says_how_to_install(monkeypatch, lake):
    from vpcflow.query import engine_spark

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(QueryError, match=r"pip install 'vpcflow\[spark\]'"):
        engine_spark.SparkEngine(lake)


def test_reports_on_spark_equal_duckdb(spark_engine, lake):
    """The reports' aggregations run on Spark, enrichment on DuckDB: the same tables as all on DuckDB."""
    from vpcflow.reports import Options, Period, open_lake, parse_time, run_report

    period = Period(parse_time("2021-01-01", option="--since"), parse_time("2021-04-01", option="--until"))
    cases = {
        "rejects": Options(period=period, top=15),
        "scanners": Options(top=0, min_ports=3, min_hosts=4, window=86400),
        "top-talkers": Options(period=period, top=3, bucket=7 * 86400),
    }
    local, remote = open_lake(lake), open_lake(lake, engine=spark_engine)
    for name, options in cases.items():
        want = run_report(name, local, options).table
        got = run_report(name, remote, options).table
        assert got.column_names == want.column_names, name
        assert got.num_rows == want.num_rows > 0, name
        assert got.to_pylist() == want.to_pylist(), name
