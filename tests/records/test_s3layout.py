"""AWS's S3 object keys for flow logs: documented examples parse to their parts; build(parse(k)) == k."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vpcflow.records.s3layout import build_key, explain_key, find_flow_log_objects, parse_key, window_for

DOC_KEY = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz"
REAL_KEY = "AWSLogs/034496339141/vpcflowlogs/us-east-1/2019/06/05/034496339141_vpcflowlogs_us-east-1_fl-093a2bd1f31cac72f_20190605T0835Z_8246457e.log.gz"
HOURLY_KEY = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/02/12/10/123456789012_vpcflowlogs_us-east-1_fl-05f57cebeaa68cbdb_20250212T1050Z_884a1fb8.log.gz"


def test_the_documented_key():
    key = parse_key(DOC_KEY)
    assert (key.account, key.region, key.flow_log_id, key.hash) == (
        "123456789012",
        "us-east-1",
        "fl-1234abcd",
        "fe123456",
    )
    assert key.window == datetime(2018, 6, 20, 16, 20, tzinfo=UTC)
    assert not key.hive and not key.hourly and key.file_format == "text" and key.key == DOC_KEY


def test_the_bucket_arn_example_with_a_prefix():
    key = parse_key("my-flow-log-bucket/" + DOC_KEY)
    assert key.prefix == "my-flow-log-bucket" and key.key == "my-flow-log-bucket/" + DOC_KEY


def test_the_documented_full_arn():
    arn = "arn:aws:s3:::my-flow-log-bucket/" + DOC_KEY  # flowlogs.md §4.1, docs up to 2021-06
    key = parse_key(arn)
    assert key.prefix == "arn:aws:s3:::my-flow-log-bucket"
    assert (key.account, key.region, key.flow_log_id, key.hash) == (
        "123456789012",
        "us-east-1",
        "fl-1234abcd",
        "fe123456",
    )
    assert (key.year, key.month, key.day, key.hour) == ("2018", "06", "20", None)
    assert key.key == arn and explain_key(arn) is None


def test_an_s3_url_with_a_subfolder():
    url = "s3://my-bucket/my-logs/" + HOURLY_KEY
    key = parse_key(url)
    assert key.prefix == "s3://my-bucket/my-logs" and key.hourly and key.key == url


@pytest.mark.parametrize("text", [REAL_KEY, HOURLY_KEY])
def test_real_keys(text):
    key = parse_key(text)
    assert key is not None and key.key == text
    assert parse_key(HOURLY_KEY).hourly and parse_key(HOURLY_KEY).hour == "10"


def test_hive_and_parquet_variants():
    key = build_key(
        "123456789012",
        "eu-west-1",
        "fl-0abc",
        datetime(2026, 11, 24, 5, 7, tzinfo=UTC),
        hive=True,
        hourly=True,
        file_format="parquet",
        prefix="logs",
    )
    assert key.key.startswith(
        "logs/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2026/month=11/day=24/hour=05/"
    )
    assert key.name.endswith("_20261124T0505Z_" + key.hash + ".log.parquet")
    assert parse_key(key.key) == key


@pytest.mark.parametrize(
    "text, reason",
    [
        ("AWSLogs/123456789012/elasticloadbalancing/us-east-1/2018/06/20/x.log.gz", "folders after AWSLogs"),
        ("some/other/file.txt", "no AWSLogs/"),
        (DOC_KEY.replace("_fe123456", "_fe12"), "file name"),
        (DOC_KEY.replace("/2018/06/20/", "/2018/06/21/"), "date differs"),
        (DOC_KEY.replace("T1620Z", "T1622Z"), "5-minute boundary"),
        (DOC_KEY.replace("us-east-1_fl", "eu-west-1_fl"), "account or region differs"),
        (HOURLY_KEY.replace("/12/10/", "/12/11/"), "hour differs"),
        (DOC_KEY.replace(".log.gz", ".log"), "file name"),
        (DOC_KEY.replace("_fl-1234abcd_", "_1234abcd_"), "file name"),
        (DOC_KEY.replace("/vpcflowlogs/us-east-1/", "/vpcflowlogs/"), "folders after AWSLogs"),
    ],
)
def test_keys_that_are_not_flow_logs_say_why(text, reason):
    assert parse_key(text) is None and reason in explain_key(text)


def test_window_is_the_five_minutes_of_the_end_time():
    assert window_for(int(datetime(2018, 6, 20, 16, 24, 59, tzinfo=UTC).timestamp())) == datetime(
        2018, 6, 20, 16, 20, tzinfo=UTC
    )


def test_rotated_files_get_distinct_reproducible_hashes():
    a = build_key("123456789012", "us-east-1", "fl-1", 1529511600)
    b = build_key("123456789012", "us-east-1", "fl-1", 1529511600, sequence=1)
    assert a.hash != b.hash and a.hash == build_key("123456789012", "us-east-1", "fl-1", 1529511600).hash


@given(
    st.from_regex(r"\d{12}", fullmatch=True),
    st.sampled_from(["us-east-1", "eu-west-1", "ap-northeast-1", "us-gov-west-1"]),
    st.from_regex(r"fl-[0-9a-f]{8,17}", fullmatch=True),
    st.integers(1_400_000_000, 2_000_000_000),
    st.booleans(), st.booleans(), st.sampled_from(["text", "parquet"]),
    st.sampled_from(["", "p", "a/b/c"]),
)  # fmt: skip
def test_build_then_parse_is_identity(account, region, flow_log_id, end, hive, hourly, file_format, prefix):
    key = build_key(
        account, region, flow_log_id, end, hive=hive, hourly=hourly, file_format=file_format, prefix=prefix
    )
    assert parse_key(key.key) == key


def test_find_flow_log_objects_under_a_folder(tmp_path):
    keys = [DOC_KEY, HOURLY_KEY, build_key("123456789012", "eu-west-1", "fl-1", 1700000000, hive=True).key]
    for key in keys:
        path = tmp_path / "bucket" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    (tmp_path / "bucket" / "AWSLogs" / "README.txt").write_text("not a flow log")
    found = find_flow_log_objects(tmp_path / "bucket")
    assert sorted(k.key for _, k in found) == sorted(keys)
    assert [k.key for _, k in find_flow_log_objects(tmp_path / "bucket" / DOC_KEY)] == [DOC_KEY]
    assert find_flow_log_objects(tmp_path / "bucket" / "AWSLogs" / "README.txt") == []


def test_find_flow_log_objects_keeps_the_bucket_prefix_and_sorts_by_window(tmp_path):
    later = build_key("123456789012", "eu-west-1", "fl-1", 1700000600, prefix="team/flow")
    earlier = build_key("123456789012", "eu-west-1", "fl-1", 1700000000, prefix="team/flow")
    for key in (later, earlier):
        path = tmp_path / key.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    found = find_flow_log_objects(tmp_path)
    assert [k for _, k in found] == [earlier, later]
    assert [p for p, _ in found] == [tmp_path / earlier.key, tmp_path / later.key]
    # pointed at a folder inside the prefix, the prefix above it is still the key's
    assert [k.prefix for _, k in find_flow_log_objects(tmp_path / "team")] == ["flow", "flow"]


@given(
    st.from_regex(r"\d{12}", fullmatch=True),
    st.sampled_from(["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"]),
    st.from_regex(r"fl-[0-9a-f]{8,17}", fullmatch=True),
    st.datetimes(datetime(2015, 1, 1), datetime(2040, 12, 31)),
    st.from_regex(r"[0-9a-f]{8}", fullmatch=True),
    st.booleans(), st.booleans(), st.sampled_from([".log.gz", ".log.parquet"]),
    st.sampled_from(["", "bucket/", "arn:aws:s3:::bucket/my-logs/", "s3://b/x/y/"]),
)  # fmt: skip
def test_parse_then_build_gives_back_the_key_text(
    account, region, flow_log_id, when, hash_, hive, hourly, ext, prefix
):
    when = when.replace(minute=when.minute - when.minute % 5)
    day = f"{when:%Y}/{when:%m}/{when:%d}/" + (f"{when:%H}/" if hourly else "")
    if hive:
        day = f"year={when:%Y}/month={when:%m}/day={when:%d}/" + (f"hour={when:%H}/" if hourly else "")
        folder = f"AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/{day}"
    else:
        folder = f"AWSLogs/{account}/vpcflowlogs/{region}/{day}"
    text = f"{prefix}{folder}{account}_vpcflowlogs_{region}_{flow_log_id}_{when:%Y%m%dT%H%M}Z_{hash_}{ext}"
    key = parse_key(text)
    assert key is not None, explain_key(text)
    assert (
        key.key == text
        and key.hash == hash_
        and key.window == when.replace(second=0, microsecond=0, tzinfo=UTC)
    )
