"""The query commands through typer's CliRunner, and the interactive prompt as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pyarrow.parquet as pq
from typer.testing import CliRunner

from vpcflow.cli import app

from .conftest import make_records, write_lake

runner = CliRunner()


def test_query_json(lake, records):
    result = runner.invoke(
        app,
        [
            "query",
            "SELECT action, count(*) AS n FROM vpc_flow_logs GROUP BY action",
            "--lake",
            str(lake),
            "-o",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    got = {row["action"]: row["n"] for row in map(json.loads, result.stdout.splitlines())}
    assert got == Counter(r["action"] for r in records)


def test_query_table_and_csv(lake):
    sql = "SELECT srcaddr, dstport FROM vpc_flow_logs WHERE srcaddr = '10.117.1.22' AND dstport = 443 LIMIT 2"
    table = runner.invoke(app, ["query", sql, "--lake", str(lake)])
    assert table.exit_code == 0 and "10.117.1.22" in table.stdout and "dstport" in table.stdout
    csv = runner.invoke(app, ["query", sql, "--lake", str(lake), "--output", "csv"])
    assert csv.stdout.splitlines()[0] == '"srcaddr","dstport"'


def test_query_duckdb_dialect(lake, records):
    result = runner.invoke(
        app,
        [
            "query",
            "SELECT count(*) AS n FROM vpc_flow_logs WHERE hour IS NOT NULL",
            "--lake",
            str(lake),
            "--dialect",
            "duckdb",
            "-o",
            "csv",
        ],
    )
    assert result.stdout.splitlines()[1] == str(sum(1 for r in records if r["_hour"] is not None))


def test_query_parquet_needs_out(lake, tmp_path):
    result = runner.invoke(app, ["query", "SELECT 1 AS one", "--lake", str(lake), "-o", "parquet"])
    assert result.exit_code != 0 and "--out" in str(result.exception or result.output)
    out = tmp_path / "r.parquet"
    result = runner.invoke(
        app,
        [
            "query",
            "SELECT interface_id, bytes FROM vpc_flow_logs LIMIT 7",
            "--lake",
            str(lake),
            "-o",
            "parquet",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0
    assert pq.read_table(out).schema.names == ["interface_id", "bytes"] and pq.read_table(out).num_rows == 7


def test_query_error_exits_2_with_message(lake):
    result = subprocess.run([sys.executable, "-m", "vpcflow.cli", "query", "SELECT format_datetime(start, 'y') FROM vpc_flow_logs", "--lake", str(lake)],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 2 and "format_datetime" in result.stderr and "^" in result.stderr


def test_insights_command(lake, records):
    result = runner.invoke(
        app,
        [
            "insights",
            "filter protocol=17 | stats count(*) as n by srcAddr",
            "--lake",
            str(lake),
            "-o",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert {r["srcAddr"]: r["n"] for r in map(json.loads, result.stdout.splitlines())} == Counter(
        r["srcaddr"] for r in records if r["protocol"] == 17
    )


def test_insights_time_range(lake, records):
    result = runner.invoke(
        app,
        [
            "insights",
            "stats count(*) as n",
            "--lake",
            str(lake),
            "--since",
            "2021-02-01",
            "--until",
            "2021-03-01T00:00:00Z",
            "-o",
            "csv",
        ],
    )
    assert result.stdout.splitlines()[1] == str(
        sum(1 for r in records if 1612137600 <= r["start"] < 1614556800)
    )


def test_athena_ddl_command(lake):
    result = runner.invoke(
        app,
        [
            "athena",
            "ddl",
            "--location",
            "s3://b/AWSLogs/123456789012/vpcflowlogs/us-east-1/",
            "--partitions-from",
            str(lake),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS `vpc_flow_logs`")
        and "ADD IF NOT EXISTS PARTITION" in result.stdout
    )
    proj = runner.invoke(
        app,
        [
            "athena",
            "ddl",
            "--location",
            "s3://b/AWSLogs/123456789012/vpcflowlogs/us-east-1/",
            "--projection",
            "--format",
            "parquet",
        ],
    )
    assert '"projection.enabled" = "true"' in proj.stdout


def test_repl_with_history(tmp_path):
    records = make_records(seed=9, per_day=4)
    lake = write_lake(tmp_path / "lake", records)
    script = "\n".join([
        "SELECT count(*) AS n",
        "FROM vpc_flow_logs;",
        ".output json",
        "SELECT count(*) AS rejected FROM vpc_flow_logs WHERE action = 'REJECT';",
        "SELECT nope FROM nowhere;",
        ".insights filter protocol = 6 | stats count(*) as tcp",
        ".dialect duckdb",
        "SELECT 40 + 2 AS answer;",
        ".quit",
        "SELECT 'never run';",
    ])  # fmt: skip
    env = dict(os.environ, HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "vpcflow.cli", "query", "--lake", str(lake)], input=script + "\n",
                            capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert str(len(records)) in out.split("\n", 6)[3] or str(len(records)) in out
    assert (
        json.dumps({"rejected": sum(1 for r in records if r["action"] == "REJECT")}, separators=(", ", ": "))
        in out
    )
    assert "error: " in out and "nowhere" in out
    assert json.dumps({"tcp": sum(1 for r in records if r["protocol"] == 6)}, separators=(", ", ": ")) in out
    assert '{"answer": 42}' in out and "never run" not in out
    history = (lake / "_vpcflow" / "query_history").read_text()
    assert "SELECT count(*) AS n FROM vpc_flow_logs" in history and "SELECT 40 + 2 AS answer" in history
