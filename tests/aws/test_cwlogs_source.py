"""`vpcflow ingest cwlogs://...` against a local CloudWatch Logs and EC2 (moto's server, real HTTP)."""

from __future__ import annotations

import json
import logging
import time

import pytest
from botocore.awsrequest import AWSResponse

from tests.aws.helpers import ACCOUNT, HEADER, REGION, lake_packets, lake_rows, record_lines
from vpcflow.aws_session import AwsSettings
from vpcflow.errors import InputError
from vpcflow.lake import ingest
from vpcflow.lake.source_cwlogs import HOUR, CloudWatchLogsSource
from vpcflow.lake.sources_registry import RemoteOptions, close_sources, sources_for

GROUP = "/aws/vpc/flow-logs"
FORMAT = " ".join("${" + token + "}" for token in HEADER.split())
NOW = (int(time.time()) // HOUR) * HOUR + 30 * 60  # half past the current hour
HOURS = [NOW - 30 * 60 - k * HOUR for k in (4, 3, 2)]  # three whole hours, settled long ago


def put_events(logs, stream: str, lines: list[str]) -> None:
    """One event per record, timestamped with the record's start (as AWS does), in time order."""
    events = sorted(
        ({"timestamp": int(line.split()[10]) * 1000, "message": line} for line in lines),
        key=lambda e: e["timestamp"],
    )
    for start in range(0, len(events), 500):
        logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events[start : start + 500])


def make_group(logs, ec2=None, *, log_format: str | None = FORMAT, per_hour: int = 10) -> list[int]:
    """Two ENI streams with `per_hour` records each in each of HOURS; a flow log delivering to the group
    with `log_format` when ec2 is given. Returns the serial numbers (packets) put, sorted."""
    logs.create_log_group(logGroupName=GROUP)
    serial = 1
    put = []
    for stream in ("eni-0aaa-all", "eni-0bbb-all"):
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        lines = []
        for hour in HOURS:
            lines += record_lines(serial, per_hour, hour + 600)
            put += range(serial, serial + per_hour)
            serial += per_hour
        put_events(logs, stream, lines)
    if ec2 is not None:
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        extra = {"LogFormat": log_format} if log_format else {}
        ec2.create_flow_logs(
            ResourceIds=[vpc], ResourceType="VPC", TrafficType="ALL", LogDestinationType="cloud-watch-logs",
            LogGroupName=GROUP, DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/flow-logs", **extra,
        )  # fmt: skip
    return sorted(put)


def source(url: str = f"cwlogs://{GROUP}", **kwargs) -> CloudWatchLogsSource:
    kwargs.setdefault("now", NOW)
    return CloudWatchLogsSource(url, AwsSettings(), **kwargs)


def test_the_flow_logs_format_comes_from_describe_flow_logs_and_every_record_lands_once(logs, ec2, tmp_path):
    put = make_group(logs, ec2)
    src = source(since=HOURS[0])
    assert src.format.header == HEADER
    result = ingest([src], tmp_path / "lake")
    src.close()
    assert result.error is None and result.bad == 0
    assert result.objects_read == 6  # 2 streams x 3 hours
    assert lake_packets(tmp_path / "lake") == put
    # the format has no region: the group's Region partitions the records, not `unknown`
    assert lake_rows(tmp_path / "lake", "DISTINCT aws_account_id::VARCHAR, aws_region") == [(ACCOUNT, REGION)]

    again = source(since=HOURS[0])
    result = ingest([again], tmp_path / "lake")
    again.close()
    assert (result.objects_read, result.objects_already) == (0, 6)
    assert lake_packets(tmp_path / "lake") == put


def test_pages_are_followed_and_throttling_is_retried_with_back_off(logs, ec2, tmp_path, backoffs):
    put = make_group(logs, ec2, per_hour=40)
    src = source(since=HOURS[0], until=HOURS[2] + HOUR, page_size=25)
    calls = []

    def throttle(request, **_):
        calls.append(1)
        if len(calls) in (2, 3):  # two throttled answers in a row, in the middle of a paginated read
            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
            headers = {
                "Content-Type": "application/x-amz-json-1.1",
                "x-amzn-ErrorType": "ThrottlingException",
            }
            return AWSResponse(request.url, 400, headers, _Raw(body))
        return None

    src.logs.meta.events.register_first("before-send.cloudwatch-logs.FilterLogEvents", throttle)
    result = ingest([src], tmp_path / "lake")
    src.close()
    assert result.error is None
    # 80 events an hour in pages of 25: 4 calls an hour, 3 hours, plus the two throttled calls sent again
    assert len(calls) == 3 * 4 + 2
    assert [attempt for attempt, _ in backoffs] == [1, 2]  # botocore waited before each new attempt
    assert lake_packets(tmp_path / "lake") == put


def test_a_stream_prefix_reads_only_those_streams(logs, ec2, tmp_path):
    make_group(logs, ec2)
    src = source(f"cwlogs://{GROUP}/eni-0bbb", since=HOURS[0])
    assert (src.group, src.stream_prefix) == (GROUP, "eni-0bbb")
    keys = [obj.key for obj in src.objects()]
    src.close()
    assert len(keys) == 3 and all(k.startswith(f"cwlogs://{GROUP}/eni-0bbb-all@") for k in keys)


def test_log_format_option_wins_and_without_a_flow_log_the_default_format_is_used(logs, ec2):
    make_group(logs, ec2)
    assert source(log_format="${version} ${account-id}").format.header == "version account-id"
    # No flow log delivers to the group: the default format, without a warning
    ec2.delete_flow_logs(FlowLogIds=[f["FlowLogId"] for f in ec2.describe_flow_logs()["FlowLogs"]])
    src = source()
    assert src.format.header.startswith("version account-id interface-id srcaddr") and not src.warnings


def test_flow_logs_that_disagree_on_the_format_give_the_default_and_a_warning(logs, ec2, caplog):
    make_group(logs, ec2)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.create_flow_logs(
        ResourceIds=[vpc], ResourceType="VPC", TrafficType="REJECT", LogDestinationType="cloud-watch-logs",
        LogGroupName=GROUP, DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/flow-logs",
        LogFormat="${version} ${srcaddr} ${dstaddr}",
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="vpcflow.aws"):
        src = source()
    assert "2 formats" in src.warnings[0] and "--log-format" in src.warnings[0]
    assert any("2 formats" in m for m in caplog.messages)


def test_hours_not_yet_settled_are_left_for_a_later_run(logs, ec2):
    make_group(logs, ec2)
    src = source(now=HOURS[2] + HOUR + 60)  # a minute after the last hour ended
    hours = src.hours()
    assert hours == HOURS[:2]  # found from the first event (no --since); the last is not settled
    assert "not over or not settled" in src.warnings[0]


def test_until_cuts_the_hours(logs, ec2, tmp_path):
    put = make_group(logs, ec2)
    src = source(since=HOURS[0], until=HOURS[1])  # only the first hour
    result = ingest([src], tmp_path / "lake")
    src.close()
    assert result.objects_read == 2
    assert lake_packets(tmp_path / "lake") == [p for p in put if p <= 10 or 31 <= p <= 40]


def test_a_missing_group_names_it_and_says_how_to_list_them(aws_env):
    with pytest.raises(
        InputError, match=r"no log group named '/aws/nope/x' or '/aws/nope'.*describe-log-groups"
    ):
        source("cwlogs:///aws/nope/x")


def test_sources_for_builds_both_remote_kinds_from_arguments(logs, ec2, s3, tmp_path):
    make_group(logs, ec2)
    s3.create_bucket(Bucket="some-bucket")
    sources = sources_for(
        ["s3://some-bucket/AWSLogs/", f"cwlogs://{GROUP}"], tmp_path / "lake", RemoteOptions(since=HOURS[0])
    )
    try:
        assert [type(s).__name__ for s in sources] == ["S3Source", "CloudWatchLogsSource"]
    finally:
        close_sources(sources)
    with pytest.raises(InputError, match="--since must be before --until"):
        sources_for([f"cwlogs://{GROUP}"], tmp_path / "lake", RemoteOptions(since=HOURS[1], until=HOURS[0]))


class _Raw:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_):
        yield self.data


def test_the_command_line_reads_a_group_between_since_and_until(logs, ec2, tmp_path):
    from datetime import UTC, datetime

    from typer.testing import CliRunner

    from vpcflow.cli import app

    put = make_group(logs, ec2)
    since = datetime.fromtimestamp(HOURS[0], UTC).strftime("%Y-%m-%dT%H:%MZ")
    until = datetime.fromtimestamp(HOURS[2] + HOUR, UTC).isoformat()
    args = [
        "ingest",
        f"cwlogs://{GROUP}",
        "--lake",
        str(tmp_path / "lake"),
        "--since",
        since,
        "--until",
        until,
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "ingested 60 records from 6 objects" in result.output
    assert lake_packets(tmp_path / "lake") == put
    bad = CliRunner().invoke(app, [*args[:4], "--since", "yesterday"])
    assert "'yesterday' is not a time" in str(bad.exception)
