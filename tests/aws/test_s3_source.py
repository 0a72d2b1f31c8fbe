"""`vpcflow ingest s3://...` against a local S3 (moto's server, real HTTP): listing, reading, failures."""

from __future__ import annotations

import logging

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from tests.aws.helpers import REGION, flow_object, lake_packets, object_key, put_many
from vpcflow.aws_session import AwsSettings
from vpcflow.errors import InputError
from vpcflow.lake import IngestOptions, ingest
from vpcflow.lake.source_s3 import S3Source
from vpcflow.records.badrecords import OnError

BUCKET = "flow-logs-test"


def put_objects(s3, count: int, per_object: int = 2, *, prefix: str = "logs") -> list[str]:
    """`count` flow log objects; object i holds records i*per_object+1 .. (i+1)*per_object."""
    s3.create_bucket(Bucket=BUCKET)
    keys = [object_key(i, prefix=prefix) for i in range(count)]
    put_many(
        s3.meta.endpoint_url, BUCKET, keys,
        lambda i: flow_object(i * per_object + 1, per_object, 1_763_640_000 + (i // 20) * 300),
    )  # fmt: skip
    return keys


def count_calls(client, operation: str) -> list[int]:
    calls = []
    client.meta.events.register(f"before-call.s3.{operation}", lambda **_: calls.append(1))
    return calls


def test_more_than_1000_objects_are_listed_in_pages_and_the_second_page_is_ingested(s3, tmp_path):
    keys = put_objects(s3, 1_050)  # 20 objects per 5-minute window, windows 0..52, in key order

    # The objects of windows 50..52 are the last 50 keys: only the second page of the listing
    # (1,000 keys a page) has them. Reading just those keeps the test fast; the others are real
    # flow logs too, so reading any of them by mistake would show in the lake.
    since = 1_763_640_000 + 50 * 300
    source = S3Source(f"s3://{BUCKET}/logs/", AwsSettings(), window=(since, None))
    listings = count_calls(source.client, "ListObjectsV2")
    gets = count_calls(source.client, "GetObject")
    try:
        result = ingest([source], tmp_path / "lake")
    finally:
        source.close()
    assert result.error is None
    assert len(listings) == 2
    assert (result.objects_found, result.objects_read, len(gets)) == (50, 50, 50)
    assert lake_packets(tmp_path / "lake") == list(range(2 * 1_000 + 1, 2 * len(keys) + 1))


def test_every_object_is_read_once_through_the_download_threads_and_a_rerun_reads_only_new_ones(s3, tmp_path):
    put_objects(s3, 120)
    source = S3Source(f"s3://{BUCKET}/logs/", AwsSettings(), workers=4)
    result = ingest([source], tmp_path / "lake")
    source.close()
    assert result.error is None and result.objects_read == 120
    assert lake_packets(tmp_path / "lake") == list(range(1, 241))

    # Incremental by ETag: nothing is downloaded again; a new object is the only one read.
    s3.put_object(Bucket=BUCKET, Key=object_key(120), Body=flow_object(9_001, 3, 1_763_640_000 + 6 * 300))
    again = S3Source(f"s3://{BUCKET}/logs/", AwsSettings())
    gets_again = count_calls(again.client, "GetObject")
    result = ingest([again], tmp_path / "lake")
    again.close()
    assert (result.objects_already, result.objects_read, len(gets_again)) == (120, 1, 1)
    assert lake_packets(tmp_path / "lake")[-3:] == [9_001, 9_002, 9_003]


def test_an_object_deleted_after_listing_is_skipped_with_a_warning(s3, tmp_path, caplog):
    keys = put_objects(s3, 12)
    source = S3Source(f"s3://{BUCKET}/logs", AwsSettings(), workers=3)
    other = boto3.client("s3", region_name=REGION)

    def delete_one(**_):
        other.delete_object(Bucket=BUCKET, Key=keys[5])

    source.client.meta.events.register_first("after-call.s3.ListObjectsV2", delete_one)
    with caplog.at_level(logging.WARNING, logger="vpcflow.aws"):
        result = ingest([source], tmp_path / "lake")
    source.close()
    assert result.error is None and result.objects_read == 12
    assert lake_packets(tmp_path / "lake") == [p for p in range(1, 25) if p not in (11, 12)]
    assert len(source.warnings) == 1 and keys[5] in source.warnings[0] and "deleted" in source.warnings[0]
    assert any(keys[5] in message for message in caplog.messages)


def test_an_object_replaced_after_listing_is_read_on_the_next_run(s3, tmp_path):
    keys = put_objects(s3, 4)
    source = S3Source(f"s3://{BUCKET}/logs", AwsSettings())
    other = boto3.client("s3", region_name=REGION)
    source.client.meta.events.register_first(
        "after-call.s3.ListObjectsV2",
        lambda **_: other.put_object(Bucket=BUCKET, Key=keys[2], Body=flow_object(501, 2, 1_763_640_000)),
    )
    ingest([source], tmp_path / "lake")
    source.close()
    assert "replaced" in source.warnings[0]
    assert lake_packets(tmp_path / "lake") == [1, 2, 3, 4, 7, 8]

    result = ingest([S3Source(f"s3://{BUCKET}/logs", AwsSettings())], tmp_path / "lake")
    assert result.objects_read == 1  # it gave no records the first time, so reading it now is safe
    assert lake_packets(tmp_path / "lake") == [1, 2, 3, 4, 7, 8, 501, 502]


def _throttle(times: int, status: int, code: str, seen: list):
    """A before-send hook answering the first `times` requests with a throttling error."""

    def hook(request, **_):
        seen.append(request.url)
        if len(seen) <= times:
            body = f"<Error><Code>{code}</Code><Message>Please reduce your request rate.</Message></Error>"
            return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Raw(body.encode()))
        return None

    return hook


class _Raw:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_):
        yield self.data


def test_throttling_is_retried_with_back_off(s3, tmp_path, backoffs):
    put_objects(s3, 3)
    source = S3Source(f"s3://{BUCKET}/logs", AwsSettings(), workers=1)
    lists, gets = [], []
    source.client.meta.events.register_first(
        "before-send.s3.ListObjectsV2", _throttle(1, 503, "SlowDown", lists)
    )
    source.client.meta.events.register_first("before-send.s3.GetObject", _throttle(2, 503, "SlowDown", gets))
    result = ingest([source], tmp_path / "lake")
    source.close()
    assert result.error is None
    assert (len(lists), len(gets)) == (2, 3 + 2)  # each throttled call was sent again
    assert [attempt for attempt, _ in backoffs] == [
        1,
        1,
        2,
    ]  # after a wait: one for the listing, two for a download
    assert lake_packets(tmp_path / "lake") == [1, 2, 3, 4, 5, 6]


def test_throttling_beyond_the_retries_makes_only_that_object_unreadable(s3, tmp_path, monkeypatch, backoffs):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    put_objects(s3, 3)
    source = S3Source(f"s3://{BUCKET}/logs", AwsSettings(), workers=1)
    gets = []
    source.client.meta.events.register_first("before-send.s3.GetObject", _throttle(2, 503, "SlowDown", gets))
    result = ingest([source], tmp_path / "lake", IngestOptions(on_error=OnError.skip))
    source.close()
    assert result.error is None and result.bad == 1
    assert "SlowDown" in result.errors[0].message() and object_key(0) in result.errors[0].message()
    assert lake_packets(tmp_path / "lake") == [3, 4, 5, 6]


def test_a_corrupt_object_does_not_stop_the_others(s3, tmp_path):
    keys = put_objects(s3, 6)
    s3.put_object(Bucket=BUCKET, Key=keys[3], Body=b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    source = S3Source(f"s3://{BUCKET}/logs", AwsSettings())
    result = ingest([source], tmp_path / "lake", IngestOptions(on_error=OnError.quarantine))
    source.close()
    assert result.error is None and result.objects_read == 6
    assert result.bad == 1 and keys[3] in result.errors[0].message()
    assert lake_packets(tmp_path / "lake") == [p for p in range(1, 13) if p not in (7, 8)]


def test_since_and_until_select_objects_by_the_window_in_their_key(s3, tmp_path):
    put_objects(s3, 60)  # windows 12:00, 12:05, 12:10 (20 objects each)
    source = S3Source(f"s3://{BUCKET}/logs", AwsSettings(), window=(1_763_640_000 + 300, 1_763_640_000 + 600))
    assert len(list(source.objects())) == 20


def test_a_missing_bucket_is_an_input_error_that_says_what_to_check(aws_env):
    with pytest.raises(
        InputError, match=r"s3://no-such-bucket-here/: cannot list the objects: NoSuchBucket.*bucket name"
    ):
        list(S3Source("s3://no-such-bucket-here/", AwsSettings()).objects())


def test_other_services_logs_and_folder_markers_are_not_listed(s3):
    s3.create_bucket(Bucket=BUCKET)
    for key in (
        "AWSLogs/",
        "AWSLogs/123456789012/CloudTrail/us-east-1/2025/11/20/x.json.gz",
        object_key(0, prefix=""),
    ):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    keys = [o.key for o in S3Source(f"s3://{BUCKET}", AwsSettings()).objects()]
    assert keys == [f"s3://{BUCKET}/{object_key(0, prefix='')}"]
