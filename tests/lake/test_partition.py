"""Partition values: from the S3 key, else the record's columns, else `unknown`; dates from `end`."""

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from vpcflow.lake.keys import key_info
from vpcflow.lake.layout import Partition, clean_account, clean_region
from vpcflow.lake.partition import conform, split
from vpcflow.lake.sources import SourceObject
from vpcflow.records.catalog import tgw_schema, vpc_schema

CASES = [
    line.split("\t")
    for line in (Path(__file__).parent / "fixtures" / "keys.tsv").read_text().splitlines()
    if line and not line.startswith("#")
]


@pytest.mark.parametrize("case", CASES, ids=[c[0][-40:] for c in CASES])
def test_key_info(case):
    info = key_info(case[0])
    if case[1] == "none":
        assert info is None
        return
    account, region, window, aws_named = case[1:]
    assert (info.account, info.region) == (account, region)
    assert datetime.fromtimestamp(info.stamp, UTC).strftime("%Y-%m-%dT%H:%M") == window
    assert (info.aws_name is not None) == (aws_named == "yes")


def test_aws_named_objects_are_known_by_file_name_wherever_they_are_copied():
    name = "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz"
    here = SourceObject(f"/a/AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/{name}", 10)
    there = SourceObject(f"/b/copy/{name}", 10)
    assert here.identity == there.identity == f"aws:{name}"
    assert SourceObject("/a/export/000000.gz", 10).identity == "/a/export/000000.gz"


def _batch(**columns) -> pa.RecordBatch:
    schema = vpc_schema()
    return pa.RecordBatch.from_pydict(columns, schema=pa.schema([schema.field(c) for c in columns]))


T = int(datetime(2026, 11, 24, 23, 59, 30, tzinfo=UTC).timestamp())


def test_date_comes_from_end_and_a_batch_spanning_midnight_is_split():
    batch = _batch(start=[T - 10, T - 10, T], end=[T, T + 60, None], packets=[1, 2, 3])
    key = key_info("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/24/x.log.gz")
    parts = dict(split(batch, "vpc", key, None, hourly=False))
    assert {p.day: b.column("packets").to_pylist() for p, b in parts.items()} == {"24": [1, 3], "25": [2]}
    assert {p.path for p in parts} == {
        "vpc_flow_logs/aws_account_id=123456789012/aws_region=us-east-1/year=2026/month=11/day=24",
        "vpc_flow_logs/aws_account_id=123456789012/aws_region=us-east-1/year=2026/month=11/day=25",
    }


def test_no_times_fall_back_to_the_key_date_then_the_object_time():
    batch = _batch(start=[None], end=[None], packets=[1])
    key = key_info("AWSLogs/123456789012/vpcflowlogs/us-east-1/2020/05/04/07/x.log.gz")
    ((part, _),) = split(batch, "vpc", key, None, hourly=True)
    assert (part.year, part.month, part.day, part.hour) == ("2020", "05", "04", "07")
    ((part, _),) = split(batch, "vpc", None, T, hourly=False)
    assert (part.account, part.region, part.day) == ("unknown", "unknown", "24")


def test_without_a_key_account_and_region_come_from_the_records():
    batch = _batch(
        account_id=["111111111111", "222222222222", None, "111111111111", "bad/../x"],
        region=["eu-west-1", "eu-west-1", "us-east-1", None, "eu-west-1"],
        end=[T] * 5,
        packets=[1, 2, 3, 4, 5],
    )
    got = {
        (p.account, p.region): b.column("packets").to_pylist()
        for p, b in split(batch, "vpc", None, None, False)
    }
    assert got == {
        ("111111111111", "eu-west-1"): [1],
        ("222222222222", "eu-west-1"): [2],
        ("unknown", "us-east-1"): [3],
        ("111111111111", "unknown"): [4],
        ("unknown", "eu-west-1"): [5],
    }


def test_the_key_wins_over_the_record_columns():
    batch = _batch(account_id=["111111111111"], region=["eu-west-1"], end=[T], packets=[1])
    key = key_info("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/24/x.log.gz")
    ((part, _),) = split(batch, "vpc", key, None, False)
    assert (part.account, part.region) == ("123456789012", "us-east-1")


def test_files_hold_every_catalog_column_in_order_and_absent_ones_are_null():
    batch = _batch(packets=[7], end=[T], srcaddr=["10.0.0.1"])
    out = conform(batch, vpc_schema())
    assert out.schema == vpc_schema()
    row = out.to_pylist()[0]
    assert row["packets"] == 7 and row["srcaddr"] == "10.0.0.1" and row["vpc_id"] is None
    ((part, tgw),) = split(
        pa.RecordBatch.from_pydict({"end": [T], "tgw_id": ["tgw-1"]}), "tgw", None, None, False
    )
    assert part.path.startswith("tgw_flow_logs/") and tgw.schema == tgw_schema()


@pytest.mark.parametrize(
    "value, account, region",
    [("123456789012", "123456789012", "unknown"), ("unknown", "unknown", "unknown"), ("us-east-1", "unknown", "us-east-1"),
     ("../etc", "unknown", "unknown"), ("", "unknown", "unknown"), ("eusc-de-east-1", "unknown", "eusc-de-east-1")],
)  # fmt: skip
def test_partition_values_never_break_paths(value, account, region):
    assert clean_account(value) == account and clean_region(value) == region


def test_hour_partitions_are_zero_padded():
    assert Partition("vpc", "unknown", "unknown", "2026", "01", "02", "03").path.endswith(
        "year=2026/month=01/day=02/hour=03"
    )
