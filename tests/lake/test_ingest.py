"""Ingest into a real lake, read back with real DuckDB: layout, exactly-once, incremental, policies."""

import gzip
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.lake.flowgen import DEFAULT, records, write_tree
from vpcflow.errors import LakeError
from vpcflow.lake import FileSizes, IngestOptions, Lake, ingest, local_sources
from vpcflow.records.badrecords import OnError
from vpcflow.records.catalog import tgw_schema, vpc_schema
from vpcflow.records.formats import TGW_DEFAULT_FORMAT, LogFormat
from vpcflow.records.parquet_codec import write_parquet
from vpcflow.records.writer import write_text


def run(src, lake, **options):
    return ingest(
        local_sources([src] if not isinstance(src, list) else src, lake), lake, IngestOptions(**options)
    )


def sql(query: str):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute(query).fetchall()


def packets(lake: Path, table: str = "vpc_flow_logs") -> list[int]:
    files = f"{lake}/{table}/**/*.parquet"
    return [r[0] for r in sql(f"SELECT packets FROM read_parquet('{files}') ORDER BY packets")]


def test_s3_layout_becomes_hive_partitions_with_every_record_once(tmp_path):
    tree = write_tree(
        tmp_path / "plain",
        files=8,
        accounts=("111111111111", "222222222222"),
        regions=("us-east-1", "eu-west-1"),
    )
    hive = write_tree(tmp_path / "hive", files=4, first_id=tree.records, hive=True, seed=1)
    result = run([tmp_path / "plain", tmp_path / "hive"], tmp_path / "lake")
    assert result.error is None and result.records == tree.records + hive.records
    assert packets(tmp_path / "lake") == list(range(tree.records + hive.records))

    rows = sql(
        f"SELECT aws_account_id, aws_region, year, month, day, count(*) FROM read_parquet('{tmp_path}/lake/vpc_flow_logs/**/*.parquet', "
        "hive_partitioning = true, hive_types_autocast = false) GROUP BY ALL ORDER BY ALL"
    )
    assert rows == [
        ("111111111111", "eu-west-1", "2025", "11", "24", 1000),
        ("111111111111", "us-east-1", "2025", "11", "24", 1000),
        ("123456789012", "us-east-1", "2025", "11", "24", 2000),
        ("222222222222", "eu-west-1", "2025", "11", "24", 1000),
        ("222222222222", "us-east-1", "2025", "11", "24", 1000),
    ]
    # the partition day agrees with each record's `end`, in UTC
    assert sql(
        f"SELECT count(*) FROM read_parquet('{tmp_path}/lake/vpc_flow_logs/**/*.parquet', hive_partitioning = true, "
        "hive_types_autocast = false) WHERE strftime(to_timestamp(\"end\"), '%d') <> day"
    ) == [(0,)]


def test_files_hold_the_catalog_columns_in_order_in_zstd(tmp_path):
    write_tree(tmp_path / "src", files=2)
    run(tmp_path / "src", tmp_path / "lake")
    (path,) = Lake(tmp_path / "lake").data_files()
    parquet = pq.ParquetFile(path)
    assert parquet.schema_arrow == vpc_schema()
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
    assert parquet.read().column("vpc_id").null_count == parquet.metadata.num_rows


def test_rerun_reads_only_new_objects_and_a_copied_bucket_is_not_read_twice(tmp_path):
    first = write_tree(tmp_path / "src", files=3)
    assert run(tmp_path / "src", tmp_path / "lake").objects_read == 3
    again = run(tmp_path / "src", tmp_path / "lake")
    assert (again.objects_read, again.objects_already, again.records, again.transactions) == (0, 3, 0, 0)

    more = write_tree(tmp_path / "src", files=2, first_id=first.records, start=1_764_000_000 + 3600, seed=7)
    shutil.copytree(tmp_path / "src", tmp_path / "copy")  # the same AWS objects somewhere else
    result = run([tmp_path / "src", tmp_path / "copy"], tmp_path / "lake")
    assert (result.objects_read, result.objects_already, result.duplicates) == (2, 3, 5)
    assert packets(tmp_path / "lake") == list(range(first.records + more.records))


def test_an_object_that_changed_since_it_was_ingested_is_reported_not_duplicated(tmp_path):
    tree = write_tree(tmp_path / "src", files=2)
    run(tmp_path / "src", tmp_path / "lake")
    with gzip.open(tree.files[0], "ab") as extra:
        extra.write(
            b"2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 999999 1 1764000000 1764000001 ACCEPT OK\n"
        )
    result = run(tmp_path / "src", tmp_path / "lake")
    assert result.changed == [str(tree.files[0])] and result.records == 0
    assert packets(tmp_path / "lake") == list(range(tree.records))


def test_small_objects_are_compacted_and_sizes_are_respected(tmp_path):
    tree = write_tree(tmp_path / "src", files=60, records_per_file=100)  # 60 objects, one day
    run(tmp_path / "src", tmp_path / "lake", sizes=FileSizes(row_group_rows=1000, file_rows=2500))
    files = Lake(tmp_path / "lake").data_files()
    rows = sorted(pq.ParquetFile(f).metadata.num_rows for f in files)
    assert rows == [1000, 2500, 2500]  # 6000 records: two full files and the rest, not 60 files
    for path in files:
        meta = pq.ParquetFile(path).metadata
        assert all(meta.row_group(i).num_rows <= 1000 for i in range(meta.num_row_groups))
    assert packets(tmp_path / "lake") == list(range(tree.records))


def test_transactions_split_a_big_input_and_each_is_in_the_manifest(tmp_path):
    tree = write_tree(tmp_path / "src", files=6, records_per_file=2000)
    result = run(tmp_path / "src", tmp_path / "lake", commit_bytes=tree.files[0].stat().st_size * 2)
    assert result.transactions == 3
    manifest = (tmp_path / "lake" / "_vpcflow" / "manifest.jsonl").read_text().splitlines()
    assert len(manifest) == 3
    assert packets(tmp_path / "lake") == list(range(tree.records))


def test_hourly_lakes_have_hour_folders_and_keep_their_depth(tmp_path):
    write_tree(tmp_path / "src", files=3, window_step=3600, hourly=True)
    run(tmp_path / "src", tmp_path / "lake", hourly=True)
    hours = sorted(p.parent.name for p in Lake(tmp_path / "lake").data_files())
    assert hours == ["hour=16", "hour=17", "hour=18"]
    with pytest.raises(LakeError, match="this lake has hourly partitions; add --hourly"):
        run(tmp_path / "src", tmp_path / "lake")


def _with_bad_line(tmp_path) -> tuple[Path, int]:
    tree = write_tree(tmp_path / "src", files=3, records_per_file=100)
    with gzip.open(tree.files[1], "ab") as damaged:
        damaged.write(
            b"2 123456789012 eni-1 10.0.0.1 10.0.0.2 eighty 2 6 1 1 1764000000 1764000001 ACCEPT OK\n"
        )
    return tmp_path / "src", tree.records


def test_on_error_fail_stops_and_leaves_the_transaction_out(tmp_path):
    src, _ = _with_bad_line(tmp_path)
    result = run(src, tmp_path / "lake")
    assert result.error is not None and "line 102" in str(result.error).replace(":102", " line 102")
    assert (
        Lake(tmp_path / "lake").data_files() == []
        and list((tmp_path / "lake" / "_vpcflow" / "tmp").iterdir()) == []
    )
    assert run(src, tmp_path / "lake", on_error=OnError.skip).records == 300  # nothing was marked ingested


def test_on_error_skip_and_quarantine_keep_the_good_records(tmp_path):
    src, total = _with_bad_line(tmp_path)
    result = run(src, tmp_path / "lake", on_error=OnError.quarantine)
    assert (result.records, result.bad) == (total, 1)
    assert packets(tmp_path / "lake") == list(range(total))
    (kept,) = (tmp_path / "lake" / "_vpcflow" / "quarantine").glob("*.bad")
    assert b"eighty" in kept.read_bytes()


def test_parquet_cloudwatch_export_and_transit_gateway_inputs(tmp_path):
    rng = np.random.default_rng(3)
    src = tmp_path / "src"
    (src / "parquet").mkdir(parents=True)
    key = "AWSLogs/123456789012/vpcflowlogs/us-west-2/2025/11/24/123456789012_vpcflowlogs_us-west-2_fl-0a_20251124T1600Z_0000abcd.log.parquet"
    (src / key).parent.mkdir(parents=True)
    write_parquet(
        records(50, first_id=0, window=1_764_000_000, account="123456789012", rng=rng), src / key, DEFAULT
    )
    export = records(20, first_id=50, window=1_764_000_000, account="333333333333", rng=rng)
    lines = write_text(export, tmp_path / "e.log", DEFAULT, header=False)
    stamped = [
        f"2025-11-24T16:00:0{i % 10}.000Z {line}"
        for i, line in enumerate((tmp_path / "e.log").read_text().splitlines())
    ]
    (src / "cloudwatch").mkdir()
    with gzip.open(src / "cloudwatch" / "000000.gz", "wt") as out:
        out.write("\n".join(stamped) + "\n")
    tgw_format = LogFormat.parse(TGW_DEFAULT_FORMAT)
    tgw_line = " ".join(
        {"version": "6", "resource-type": "TransitGateway", "account-id": "123456789012", "start": "1764000000",
         "end": "1764000030", "packets": "70", "log-status": "OK", "region": "eu-central-1"}.get(t, "-")
        for t in tgw_format.tokens
    )  # fmt: skip
    (src / "tgw.log").write_text(tgw_format.header + "\n" + tgw_line + "\n")

    result = run(src, tmp_path / "lake")
    assert (result.error, lines, result.records) == (None, 20, 71)
    assert packets(tmp_path / "lake") == list(range(70))
    parts = sorted(str(p.parent.relative_to(tmp_path / "lake")) for p in Lake(tmp_path / "lake").data_files())
    assert parts == [
        "tgw_flow_logs/aws_account_id=123456789012/aws_region=eu-central-1/year=2025/month=11/day=24",
        "vpc_flow_logs/aws_account_id=123456789012/aws_region=us-west-2/year=2025/month=11/day=24",
        "vpc_flow_logs/aws_account_id=333333333333/aws_region=unknown/year=2025/month=11/day=24",
    ]
    (tgw_file,) = (tmp_path / "lake" / "tgw_flow_logs").rglob("*.parquet")
    assert pq.read_schema(tgw_file) == tgw_schema()


def test_a_source_inside_the_lake_is_refused(tmp_path):
    (tmp_path / "lake" / "vpc_flow_logs").mkdir(parents=True)
    from vpcflow.errors import InputError

    with pytest.raises(InputError, match="inside the lake"):
        local_sources([tmp_path / "lake" / "vpc_flow_logs"], tmp_path / "lake")


def test_small_files_of_repeated_ingests_are_merged(tmp_path):
    total = 0
    for run_number in range(9):  # an ingest every 5 minutes, one new object each time
        tree = write_tree(
            tmp_path / "src",
            files=1,
            records_per_file=100,
            first_id=total,
            start=1_764_000_000 + 300 * run_number,
            seed=run_number,
        )
        total += tree.records
        result = run(tmp_path / "src", tmp_path / "lake")
        assert result.objects_read == 1
    files = Lake(tmp_path / "lake").data_files()
    assert result.compacted == 0 and len(files) == 2  # merged at the 8th run: 8 files became 1, then 1 more
    assert packets(tmp_path / "lake") == list(range(total))
    removed = [
        line
        for line in (tmp_path / "lake" / "_vpcflow" / "manifest.jsonl").read_text().splitlines()
        if '"removed":["' in line
    ]
    assert len(removed) == 1
