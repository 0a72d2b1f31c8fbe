"""`vpcflow athena ddl`: AWS's tables (spec §7.2-§7.4), checked by parsing them with sqlglot."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from vpcflow.errors import QueryError
from vpcflow.query.athena_ddl import FoundPartition, create_table, find_partitions

from .conftest import make_records, write_lake

LOCATION = "s3://DOC-EXAMPLE-BUCKET/prefix/AWSLogs/123456789012/vpcflowlogs/us-east-1/"
AWS_TEXT_DDL = (Path(__file__).parent / "fixtures" / "aws_athena_ddl_text.sql").read_text()


def _statements(ddl: str) -> list[exp.Expression]:
    return [s for s in sqlglot.parse(ddl, read="athena") if s is not None]


def _columns(create: exp.Expression) -> list[tuple[str, str]]:
    schema = create.this
    return [
        (c.name, c.args["kind"].sql("athena").lower())
        for c in schema.expressions
        if isinstance(c, exp.ColumnDef)
    ]


def _partition_columns(create: exp.Expression) -> list[str]:
    prop = create.find(exp.PartitionedByProperty)
    return [c.name for c in prop.this.expressions]


def test_v5_text_table_columns_equal_aws_documented_table():
    ours = _statements(create_table(LOCATION))
    aws = _statements(AWS_TEXT_DDL)[0]
    assert isinstance(ours[0], exp.Create)
    assert _columns(ours[0]) == _columns(aws)
    assert len(_columns(aws)) == 29
    assert _partition_columns(ours[0]) == _partition_columns(aws) == ["date"]


def test_default_format_table_has_the_fourteen_v2_columns():
    create = _statements(
        create_table(
            LOCATION,
            log_format="${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}",
        )
    )[0]
    assert [c for c, _ in _columns(create)] == ["version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport",
                                                "protocol", "packets", "bytes", "start", "end", "action", "log_status"]  # fmt: skip


def test_custom_format_keeps_the_format_order():
    create = _statements(
        create_table(LOCATION, log_format="${vpc-id} ${srcaddr} ${tcp-flags} ${ecs-cluster-name}")
    )[0]
    assert _columns(create) == [
        ("vpc_id", "varchar"),
        ("srcaddr", "varchar"),
        ("tcp_flags", "integer"),
        ("ecs_cluster_name", "varchar"),
    ]


def test_partitions_found_in_a_lake_become_add_partition_statements(tmp_path):
    records = make_records(seed=2, per_day=3)
    write_lake(tmp_path, records)
    found = find_partitions(tmp_path)
    statements = _statements(create_table(LOCATION, partitions=found))
    adds = [s for s in statements[1:]]
    days = sorted(
        {
            r["_date"].isoformat()
            for r in records
            if r["_account"] == "123456789012" and r["_region"] == "us-east-1"
        }
    )
    assert len(adds) == len(days)
    text = create_table(LOCATION, partitions=found)
    for day in days:
        y, m, d = day.split("-")
        assert f"PARTITION (`date`='{day}')\nLOCATION '{LOCATION}{y}/{m}/{d}';" in text


def test_partitions_found_in_an_s3_layout_copy(tmp_path):
    folder = tmp_path / "bucket/AWSLogs/123456789012/vpcflowlogs/us-east-1/2021/02/01"
    folder.mkdir(parents=True)
    (folder / "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20210201T1620Z_fe123456.log.gz").write_bytes(
        b""
    )
    assert find_partitions(tmp_path / "bucket") == [
        FoundPartition("123456789012", "us-east-1", "2021", "02", "01")
    ]


def test_parquet_table_follows_aws_parquet_ddl():
    parts = [FoundPartition("123456789012", "us-east-1", "2021", "02", "01", "05")]
    statements = _statements(create_table(LOCATION, file_format="parquet", partitions=parts))
    create = statements[0]
    assert _columns(create) == _columns(_statements(AWS_TEXT_DDL)[0])
    assert _partition_columns(create) == [
        "aws-account-id",
        "aws-service",
        "aws-region",
        "year",
        "month",
        "day",
        "hour",
    ]
    text = statements[0].sql("athena")
    assert "ParquetHiveSerDe" in text and "s3://DOC-EXAMPLE-BUCKET/prefix/AWSLogs/'" in text
    assert "aws-service=vpcflowlogs/aws-region=us-east-1/year=2021/month=02/day=01/hour=05/" in statements[
        1
    ].sql("athena")


def test_parquet_without_partitions_suggests_msck_repair():
    ddl = create_table(LOCATION, file_format="parquet")
    assert "MSCK REPAIR TABLE `vpc_flow_logs_parquet`" in ddl
    assert "`hour` string" not in ddl


def test_projection_table_properties():
    parts = [
        FoundPartition("123456789012", r, "2021", "01", d)
        for r, d in (("us-east-1", "05"), ("eu-west-1", "02"))
    ]
    ddl = create_table(LOCATION, projection=True, file_format="parquet", partitions=parts)
    create = _statements(ddl)[0]
    aws_without_region = [c for c in _columns(_statements(AWS_TEXT_DDL)[0]) if c[0] != "region"]
    assert _columns(create) == aws_without_region  # exactly AWS's §7.4 table
    assert _partition_columns(create) == ["region", "day"]
    for prop in ('"projection.enabled" = "true"', '"projection.region.values" = "eu-west-1,us-east-1"',
                 '"projection.day.range" = "2021/01/02,NOW"', '"projection.day.format" = "yyyy/MM/dd"',
                 '"storage.location.template" = "s3://DOC-EXAMPLE-BUCKET/prefix/AWSLogs/123456789012/vpcflowlogs/${region}/${day}"'):  # fmt: skip
        assert prop in ddl


def test_text_projection_keeps_the_region_data_column_in_place():
    create = _statements(create_table(LOCATION, projection=True))[0]
    names = [c for c, _ in _columns(create)]
    assert names[21] == "record_region" and len(names) == 29


@pytest.mark.parametrize("kwargs", [dict(projection=True, location="s3://b/logs/"), dict(file_format="orc"),
                                    dict(projection=True, location="s3://b/AWSLogs/{account}/vpcflowlogs/us-east-1/")])  # fmt: skip
def test_bad_requests_are_refused(kwargs):
    location = kwargs.pop("location", LOCATION)
    with pytest.raises(QueryError):
        create_table(location, **kwargs)
