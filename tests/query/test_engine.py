"""The lake's tables on DuckDB: columns, mixed partition depths, and partition pruning.

Pruning is proved with a file that cannot be read: a query that opens it fails, so a query that
succeeds while a corrupt file sits in another partition did not open that partition.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vpcflow.errors import LakeError, QueryError
from vpcflow.query import DuckDBEngine, run_sql
from vpcflow.records.catalog import tgw_schema

from .conftest import HOURLY, TODAY, make_records, partition_folder, write_lake


@pytest.fixture(scope="module")
def trapped_lake(tmp_path_factory):
    """A lake with an unreadable file in the partition of 2021-01-15 (account 123456789012, us-east-1)."""
    records = make_records(seed=11, per_day=40)
    root = write_lake(tmp_path_factory.mktemp("trapped"), records)
    trap = next(r for r in records if r["_date"].isoformat() == "2021-01-15")
    (partition_folder(root, trap) / "part-trap.parquet").write_bytes(b"not parquet at all")
    return root, records


def _files_scanned(profile: str) -> int:
    return sum(int(n) for n in re.findall(r"Total Files Read: (\d+)", profile))


@pytest.mark.parametrize(
    "where",
    [
        "date = DATE('2020-05-04')",
        "date >= DATE('2021-02-01') AND date < DATE('2021-03-01')",
        "year = '2021' AND month = '02'",
        "year = '2020' AND month = '05' AND day = '04'",
        "date > current_date - interval '7' day",
    ],
)
def test_partition_filters_prune(trapped_lake, where):
    root, records = trapped_lake
    with DuckDBEngine(root) as engine:
        with pytest.raises(QueryError):  # the trap is real: an unpruned scan opens it
            run_sql(engine, "SELECT sum(bytes) FROM vpc_flow_logs")
        got = run_sql(
            engine, f"SELECT count(*) AS n, sum(bytes) AS b FROM vpc_flow_logs WHERE {where}"
        ).to_pylist()[0]
        expected = [r for r in records if _matches(r, where)]
        assert got == {"n": len(expected), "b": sum(r["bytes"] or 0 for r in expected) or None}


def _matches(rec, where: str) -> bool:
    d = rec["_date"].isoformat()
    return {
        "date = DATE('2020-05-04')": d == "2020-05-04",
        "date >= DATE('2021-02-01') AND date < DATE('2021-03-01')": "2021-02-01" <= d < "2021-03-01",
        "year = '2021' AND month = '02'": d.startswith("2021-02"),
        "year = '2020' AND month = '05' AND day = '04'": d == "2020-05-04",
        "date > current_date - interval '7' day": rec["_date"] > TODAY - timedelta(days=7),
    }[where]


def test_projection_day_prunes(trapped_lake):
    root, records = trapped_lake
    with DuckDBEngine(root) as engine:
        n = run_sql(
            engine,
            "SELECT count(*) AS n FROM test_table_vpclogs WHERE day >= '2021/02/01' AND day < '2021/02/28'",
        )
        assert n.column("n")[0].as_py() == sum(
            1 for r in records if "2021-02-01" <= r["_date"].isoformat() < "2021-02-28"
        )


def test_profile_shows_fewer_files_read(lake, records):
    with DuckDBEngine(lake) as engine:
        every = _files_scanned(engine.explain_analyze("SELECT sum(bytes) FROM vpc_flow_logs"))
        one_day = _files_scanned(
            engine.explain_analyze("SELECT sum(bytes) FROM vpc_flow_logs WHERE date = DATE '2020-05-04'")
        )
    partitions = {(r["_account"], r["_region"], r["_date"], r["_hour"]) for r in records}
    assert every == len(partitions)
    assert one_day == len({p for p in partitions if p[2].isoformat() == "2020-05-04"}) < every


def test_mixed_daily_and_hourly_partitions(engine, records):
    rows = run_sql(
        engine, "SELECT date, hour, count(*) AS n FROM vpc_flow_logs GROUP BY ALL", dialect="duckdb"
    )
    got = {(r["date"], r["hour"]): r["n"] for r in rows.to_pylist()}
    expected: dict = {}
    for r in records:
        key = (r["_date"], None if r["_hour"] is None else f"{r['_hour']:02d}")
        expected[key] = expected.get(key, 0) + 1
    assert got == expected
    assert any(h is not None for _, h in got) and any(h is None for _, h in got)
    assert {d for d, h in got if h is not None} == HOURLY


def test_partition_columns_are_strings_and_date_is_a_date(engine):
    described = run_sql(engine, "DESCRIBE vpc_flow_logs", dialect="duckdb").to_pylist()
    types = {r["column_name"]: r["column_type"] for r in described}
    assert types["date"] == "DATE"
    assert {types[c] for c in ("year", "month", "day", "hour", "aws_account_id", "aws_region")} == {"VARCHAR"}
    assert types["protocol"] == "BIGINT" and types["srcport"] == "INTEGER"
    row = run_sql(
        engine, "SELECT year, month, day FROM vpc_flow_logs WHERE date = DATE '2021-02-01' LIMIT 1"
    ).to_pylist()
    assert row == [{"year": "2021", "month": "02", "day": "01"}]


def test_session_time_zone_is_utc(engine):
    assert engine.scalar("SELECT current_setting('TimeZone')") == "UTC"


def test_underscore_and_dot_files_are_ignored(tmp_path):
    records = make_records(seed=3, per_day=5)
    root = write_lake(tmp_path / "lake", records)
    folder = partition_folder(root, records[0])
    shutil.copy(folder / "part-00000.parquet", folder / ".part-00001.parquet.tmp")
    shutil.copy(folder / "part-00000.parquet", folder / "_part-00002.parquet")
    (root / "_vpcflow" / "tmp").mkdir()
    shutil.copy(folder / "part-00000.parquet", root / "_vpcflow" / "tmp" / "part-x.parquet")
    with DuckDBEngine(root) as engine:
        assert engine.scalar("SELECT count(*) FROM vpc_flow_logs") == len(records)


def test_empty_lake_has_an_empty_table_with_every_column(tmp_path):
    (tmp_path / "_vpcflow").mkdir()
    with DuckDBEngine(tmp_path) as engine:
        table = run_sql(engine, "SELECT * FROM vpc_flow_logs")
        assert table.num_rows == 0 and table.schema.names[:3] == ["version", "account_id", "interface_id"]
        assert engine.tables() == ["test_table_vpclogs", "vpc_flow_logs"]


def test_tgw_table_when_the_lake_has_transit_gateway_logs(tmp_path):
    write_lake(tmp_path, make_records(seed=1, per_day=2))
    folder = (
        tmp_path / "tgw_flow_logs/aws_account_id=123456789012/aws_region=us-east-1/year=2026/month=11/day=24"
    )
    folder.mkdir(parents=True)
    schema = tgw_schema()
    row = {name: None for name in schema.names} | {"version": 6, "tgw_id": "tgw-0123", "bytes": 10}
    pq.write_table(pa.Table.from_pylist([row], schema=schema), folder / "part-0.parquet")
    with DuckDBEngine(tmp_path) as engine:
        assert "tgw_flow_logs" in engine.tables()
        got = run_sql(engine, "SELECT tgw_id, bytes, date FROM tgw_flow_logs").to_pylist()
        assert [(r["tgw_id"], r["bytes"], str(r["date"])) for r in got] == [("tgw-0123", 10, "2026-11-24")]


def test_refresh_sees_partitions_added_later(tmp_path):
    records = make_records(seed=5, per_day=3)
    daily = [r for r in records if r["_hour"] is None]
    write_lake(tmp_path, daily)
    with DuckDBEngine(tmp_path) as engine:
        assert engine.scalar("SELECT count(hour) FROM vpc_flow_logs") == 0
        write_lake(tmp_path, [r for r in records if r["_hour"] is not None])
        engine.refresh()
        assert engine.scalar("SELECT count(*) FROM vpc_flow_logs") == len(records)


def test_missing_lake_folder(tmp_path):
    with pytest.raises(LakeError, match="no such lake"):
        DuckDBEngine(tmp_path / "nope")


def test_a_file_rewritten_under_a_live_session_is_read_anew(tmp_path):
    """The session keeps Parquet footers between statements (parquet_metadata_cache); a file changed
    in place, even within the same second, must not be read with its old footer."""
    records = make_records(seed=7, per_day=3)
    write_lake(tmp_path, records)
    with DuckDBEngine(tmp_path) as engine:
        assert engine.scalar("SELECT current_setting('parquet_metadata_cache')") is True
        before = engine.scalar("SELECT count(*) FROM vpc_flow_logs")
        path = next(tmp_path.rglob("*.parquet"))
        table = pq.read_table(path)
        pq.write_table(pa.concat_tables([table, table]), path)  # same name, twice the rows
        assert engine.scalar("SELECT count(*) FROM vpc_flow_logs") == before + table.num_rows
