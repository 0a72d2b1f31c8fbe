"""The Athena engine without AWS: the statements it sends, in order, through a fake PyAthena
connection; the offline estimate of bytes scanned against the lake's Parquet footers; and, only when
VPCFLOW_ATHENA_TEST_S3 names a location with flow logs, a run against real Athena."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from vpcflow.cli import app
from vpcflow.errors import QueryError
from vpcflow.query import engine_athena, open_engine, run_sql
from vpcflow.query.athena_cost import MB, MINIMUM_BYTES, TB, estimate
from vpcflow.query.athena_ddl import FoundPartition, find_partitions
from vpcflow.query.engine_athena import AthenaConfig, AthenaEngine

LOCATION = "s3://flow-logs-bucket/prefix/AWSLogs/123456789012/vpcflowlogs/us-east-1/"


class FakeCursor:
    def __init__(self, connection):
        self.connection = connection
        self.data_scanned_in_bytes = None

    def execute(self, sql):
        self.connection.sent.append(sql)
        if "boom" in sql:
            raise RuntimeError(
                "FAILED: SYNTAX_ERROR: line 1:8: Column 'boom' cannot be resolved\nmore detail"
            )
        self.data_scanned_in_bytes = 0 if sql.startswith(("CREATE", "ALTER", "MSCK")) else 1234
        return self

    def as_arrow(self):
        return pa.table({"action": ["ACCEPT"], "n": [3]})


class FakeConnection:
    def __init__(self, config):
        self.config = config
        self.sent: list[str] = []
        self.closed = False

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True


def _partitions(n: int) -> tuple[FoundPartition, ...]:
    return tuple(FoundPartition("123456789012", "us-east-1", "2026", f"{1 + i // 28:02d}", f"{1 + i % 28:02d}")
                 for i in range(n))  # fmt: skip


def test_text_table_statements_in_order():
    engine = AthenaEngine(AthenaConfig(location=LOCATION, partitions=_partitions(3)), connect=FakeConnection)
    table = run_sql(
        engine,
        "SELECT action, count(*) AS n FROM vpc_flow_logs WHERE date = DATE('2026-01-02') GROUP BY action;",
    )
    sent = engine._connection.sent
    assert sent[0] == "CREATE DATABASE IF NOT EXISTS `default`"
    assert (
        sent[1].startswith("CREATE EXTERNAL TABLE IF NOT EXISTS `vpc_flow_logs` (")
        and "PARTITIONED BY (`date` date)" in sent[1]
    )
    assert f"LOCATION '{LOCATION}'" in sent[1]
    # The three days in one ALTER TABLE (one Athena round trip), each at its S3 prefix.
    assert sent[2].splitlines() == [
        "ALTER TABLE `vpc_flow_logs` ADD IF NOT EXISTS",
        f"PARTITION (`date`='2026-01-01') LOCATION '{LOCATION}2026/01/01'",
        f"PARTITION (`date`='2026-01-02') LOCATION '{LOCATION}2026/01/02'",
        f"PARTITION (`date`='2026-01-03') LOCATION '{LOCATION}2026/01/03'",
    ]
    # The query as written (Athena runs Athena SQL), without its semicolon; nothing else.
    assert sent[3:] == [
        "SELECT action, count(*) AS n FROM vpc_flow_logs WHERE date = DATE('2026-01-02') GROUP BY action"
    ]
    assert engine.sent == sent
    assert table.to_pylist() == [{"action": "ACCEPT", "n": 3}]
    assert engine.scanned_bytes == 1234
    run_sql(engine, "SELECT 1")  # the DDL is sent once per engine
    assert sent[4:] == ["SELECT 1"] and engine.scanned_bytes == 2468


def test_partitions_are_sent_in_statements_of_at_most_100():
    engine = AthenaEngine(
        AthenaConfig(location=LOCATION, partitions=_partitions(250)), connect=FakeConnection
    )
    statements = engine.setup_statements()
    adds = [s for s in statements if s.startswith("ALTER TABLE")]
    assert [len(s.splitlines()) - 1 for s in adds] == [100, 100, 50]
    assert len(statements) == 2 + 3


def test_projection_and_parquet_tables():
    projection = AthenaEngine(AthenaConfig(location=LOCATION, projection=True, table="test_table_vpclogs"),
                              connect=FakeConnection).setup_statements()  # fmt: skip
    assert len(projection) == 2 and '"projection.enabled" = "true"' in projection[1]
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS `test_table_vpclogs`" in projection[1]
    parquet = AthenaEngine(AthenaConfig(location=LOCATION, file_format="parquet", database="flows"),
                           connect=FakeConnection)  # fmt: skip
    assert parquet.table == "vpc_flow_logs_parquet"
    statements = parquet.setup_statements()
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS `flows`"
    assert (
        "ParquetHiveSerDe" in statements[1] and statements[2] == "MSCK REPAIR TABLE `vpc_flow_logs_parquet`"
    )


def test_partitions_from_a_lake(lake):
    engine = AthenaEngine(
        AthenaConfig(location=LOCATION, partitions=tuple(find_partitions(lake))), connect=FakeConnection
    )
    adds = "\n".join(s for s in engine.setup_statements() if s.startswith("ALTER"))
    days = {
        (p.year, p.month, p.day)
        for p in find_partitions(lake)
        if p.account == "123456789012" and p.region == "us-east-1"
    }
    assert days and adds.count("PARTITION (") == len(days)


def test_refused_sql_sends_nothing_and_errors_name_athena():
    engine = AthenaEngine(AthenaConfig(location=LOCATION), connect=FakeConnection)
    with pytest.raises(QueryError, match="DROP statements are not run"):
        run_sql(engine, "DROP TABLE vpc_flow_logs")
    assert engine._connection is None  # not even connected
    with pytest.raises(QueryError) as err:
        run_sql(engine, "SELECT boom FROM vpc_flow_logs")
    assert str(err.value) == "Athena: FAILED: SYNTAX_ERROR: line 1:8: Column 'boom' cannot be resolved"
    assert engine.notes and "no partition" in engine.notes[0]
    with pytest.raises(QueryError, match="--athena-location"):
        AthenaEngine(AthenaConfig(), connect=FakeConnection)


def test_cli_query_on_athena_through_the_seam(monkeypatch, lake):
    connections: list[FakeConnection] = []

    def connect(config):
        connections.append(FakeConnection(config))
        return connections[-1]

    monkeypatch.setattr(engine_athena, "_pyathena_connect", connect)
    args = ["query", "SELECT action, count(*) AS n FROM vpc_flow_logs GROUP BY action", "--engine", "athena",
            "--athena-location", LOCATION, "--athena-output", "s3://results-bucket/athena/", "--region", "us-east-1",
            "--athena-workgroup", "flows", "--lake", str(lake), "-o", "json"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"action": "ACCEPT", "n": 3}]
    (conn,) = connections
    assert (conn.config.output, conn.config.region, conn.config.workgroup) == (
        "s3://results-bucket/athena/",
        "us-east-1",
        "flows",
    )
    assert conn.closed and sum(s.startswith("ALTER TABLE") for s in conn.sent) == 1
    assert "Athena scanned 1,234 bytes" in result.stderr


def test_missing_pyathena_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyathena", None)
    engine = open_engine(None, "athena", location=LOCATION)
    with pytest.raises(QueryError, match=r"pip install 'vpcflow\[athena\]'"):
        run_sql(engine, "SELECT 1")


# --- the estimate --------------------------------------------------------------------------------


def _chunk_bytes(files: list[Path], columns: set[str]) -> int:
    total = 0
    for path in files:
        meta = pq.ParquetFile(path).metadata
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                chunk = meta.row_group(g).column(c)
                total += chunk.total_compressed_size if chunk.path_in_schema in columns else 0
    return total


def test_estimate_reads_the_columns_and_partitions_a_query_touches(lake):
    all_files = sorted((lake / "vpc_flow_logs").rglob("part-*.parquet"))
    day = [p for p in all_files if "year=2021/month=02/day=10" in p.as_posix()]  # an hourly day
    assert len(day) > 4
    sql = "SELECT srcaddr, sum(bytes) AS b FROM vpc_flow_logs WHERE date = DATE('2021-02-10') AND action = 'REJECT' GROUP BY srcaddr"
    result = estimate(lake, sql)
    (scan,) = result.scans
    assert scan.columns == ["action", "bytes", "srcaddr"] and scan.files == len(day)
    assert result.bytes == _chunk_bytes(day, {"action", "bytes", "srcaddr"}) > 0
    assert result.billed_bytes == MINIMUM_BYTES and result.usd == pytest.approx(10 * MB / TB * 5.0)
    # A predicate mixing partition and data columns prunes nothing (an upper bound).
    mixed = estimate(lake, "SELECT srcaddr FROM vpc_flow_logs WHERE date = DATE('2021-02-10') OR bytes > 5")
    assert mixed.bytes == _chunk_bytes(all_files, {"srcaddr", "bytes"})
    # count(*) reads no column chunk; a self-join is two scans; the projection table prunes on day.
    assert estimate(lake, "SELECT count(*) FROM vpc_flow_logs").bytes == 0
    join = estimate(
        lake,
        "SELECT a.srcaddr FROM vpc_flow_logs a JOIN vpc_flow_logs b ON a.srcaddr = b.dstaddr WHERE a.year = '2021' AND b.year = '2020'",
    )
    assert [s.files for s in join.scans] == [
        sum("year=2021" in p.as_posix() for p in all_files), sum("year=2020" in p.as_posix() for p in all_files)]  # fmt: skip
    march = estimate(
        lake, "SELECT * FROM test_table_vpclogs WHERE day >= '2021/03/01' AND day < '2021/03/31'"
    )
    in_march = [p for p in all_files if "year=2021/month=03" in p.as_posix() and "day=31" not in p.as_posix()]
    assert march.scans[0].files == len(in_march) and len(march.scans[0].columns) == 28


def test_cli_estimate_runs_nothing(lake):
    sql = "SELECT * FROM vpc_flow_logs WHERE date = DATE('2020-05-04')"
    result = CliRunner().invoke(app, ["query", sql, "--lake", str(lake), "--engine", "athena", "--estimate"])
    assert result.exit_code == 0, result.output
    assert (
        f"{estimate(lake, sql).bytes:,} bytes" in result.stdout
        and "$0.000048 at $5.00 per TB" in result.stdout
    )
    refused = CliRunner().invoke(app, ["query", sql, "--lake", str(lake), "--estimate"])
    assert isinstance(refused.exception, QueryError) and "--engine athena" in str(refused.exception)


# --- real Athena, only when asked ----------------------------------------------------------------


@pytest.mark.skipif(
    not os.environ.get("VPCFLOW_ATHENA_TEST_S3"),
    reason="needs an AWS account: set VPCFLOW_ATHENA_TEST_S3=s3://.../AWSLogs/{account}/vpcflowlogs/{region}/ "
    "and VPCFLOW_ATHENA_TEST_OUTPUT=s3://bucket/results/ (costs a few cents)",
)
def test_real_athena_counts_records():  # pragma: no cover - runs only with an AWS account
    pytest.importorskip("pyathena")
    config = AthenaConfig(location=os.environ["VPCFLOW_ATHENA_TEST_S3"], projection=True,
                          output=os.environ.get("VPCFLOW_ATHENA_TEST_OUTPUT"), database="vpcflow_test")  # fmt: skip
    with AthenaEngine(config) as engine:
        table = run_sql(engine, "SELECT count(*) AS n FROM vpc_flow_logs")
    assert table.column_names == ["n"] and table.column("n")[0].as_py() >= 0


def test_report_aggregation_runs_on_athena_and_enrichment_locally(lake):
    """`vpcflow report rejects --engine athena`: the aggregation is sent as Athena SQL (no DuckDB-only
    syntax), its rows come back, and the local DuckDB adds protocol names, times and owners."""
    import sqlglot

    from vpcflow.reports import Options, Period, open_lake, parse_time, run_report

    rows = pa.table({"source": ["192.0.2.10"], "port": [22], "protocol": [6], "records": [4], "packets": [9],
                     "bytes": [540], "first_start": [1612915200], "last_end": [1612918800]})  # fmt: skip

    class Cursor(FakeCursor):
        def as_arrow(self):
            return rows

    class Connection(FakeConnection):
        def cursor(self):
            return Cursor(self)

    engine = AthenaEngine(AthenaConfig(location=LOCATION), connect=Connection)
    period = Period(parse_time("2021-02-10", option="--since"), parse_time("2021-02-11", option="--until"))
    table = run_report("rejects", open_lake(None, engine=engine), Options(period=period, top=5)).table
    query = engine.sent[-1]
    assert engine.sent[:2] == engine.setup_statements()[:2] and len(engine.sent) == 3
    tree = sqlglot.parse_one(query, read="athena")  # Athena SQL: parses, GROUP BY spelled out
    assert "GROUP BY ALL" not in query.upper() and "::" not in query
    assert [c.sql() for c in tree.args["group"].expressions] == ["srcaddr", "dstport", "protocol"]
    assert "DATE '2021-02-10'" in query.replace("CAST('2021-02-10' AS DATE)", "DATE '2021-02-10'")
    assert table.to_pylist()[0] | {"country": None, "asn": None, "owner": None} == {
        "source": "192.0.2.10", "port": 22, "protocol": "TCP", "records": 4, "packets": 9, "bytes": 540,
        "first_seen": datetime(2021, 2, 10, tzinfo=UTC), "last_seen": datetime(2021, 2, 10, 1, tzinfo=UTC),
        "country": None, "asn": None, "owner": None,
    }  # fmt: skip
