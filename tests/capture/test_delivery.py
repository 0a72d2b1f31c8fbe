"""Delivery as AWS does it: S3 keys, 5-minute objects, rotation, header, gzip/Parquet; CloudWatch Logs
streams and events. Everything written reads back through the reader and ingests into the lake."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.capture.helpers import C, S, eni, flow_log, lines, path, run, seen
from vpcflow.capture import deliver_s3
from vpcflow.capture.flowlogs import FlowLog
from vpcflow.capture.simulate import deliver
from vpcflow.lake import ingest, local_sources
from vpcflow.records import s3layout
from vpcflow.records.badrecords import ReadStats
from vpcflow.records.reader import read_batches, read_table

SERVER = eni("eni-0a1b2c3d4e5f60718", "10.0.0.62", nitro=True)
IDLE = eni("eni-0a1b2c3d4e5f60719", "10.0.0.63", instance=None, kind="nat-gateway")
PATHS = {("52.213.180.42", "10.0.0.62", 6, 443): path(
    6, [seen(SERVER, "ingress", "52.213.180.42", "10.0.0.62", C, S)],
    [seen(SERVER, "egress", "10.0.0.62", "52.213.180.42", S, C, path=8)],
)}  # fmt: skip
SCENARIO = {
    "seed": 3, "start": "2026-11-24T10:00:00Z", "duration": "1h",
    "connections": [{"source": "52.213.180.42", "destination": "10.0.0.62", "port": 443, "every": "20s",
                     "duration": "15s", "rate": 4, "bytes": 700}],
}  # fmt: skip


def _simulate(*flow_logs: FlowLog):
    return run([SERVER, IDLE], PATHS, SCENARIO, list(flow_logs))


def _objects(root: Path) -> list[tuple[Path, s3layout.S3Key]]:
    return s3layout.find_flow_log_objects(root / "s3" / "test-bucket")


@pytest.mark.parametrize(
    "options, extension, folder",
    [
        ({}, ".log.gz", "AWSLogs/123456789010/vpcflowlogs/us-east-1/2026/11/24/"),
        ({"per_hour_partition": True}, ".log.gz", "AWSLogs/123456789010/vpcflowlogs/us-east-1/2026/11/24/10/"),
        ({"hive_compatible_partitions": True}, ".log.gz",
         "AWSLogs/aws-account-id=123456789010/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=11/day=24/"),
        ({"file_format": "parquet", "hive_compatible_partitions": True, "per_hour_partition": True}, ".log.parquet",
         "AWSLogs/aws-account-id=123456789010/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=11/day=24/hour=10/"),
    ],
    ids=["plain", "hourly", "hive", "parquet-hive-hourly"],
)  # fmt: skip
def test_s3_keys_one_object_per_five_minutes(tmp_path, options, extension, folder):
    log = flow_log(destination_options=options)
    sim = _simulate(log)
    done = deliver(sim, tmp_path)
    assert len(done.s3) == 12  # an hour of 5-minute windows
    for obj in done.s3:
        assert obj.key.startswith(folder) and obj.key.endswith(extension)
        assert f"_vpcflowlogs_us-east-1_{log.id}_" in obj.key
        key = s3layout.parse_key(obj.key)
        table = read_table(obj.path)
        assert table.num_rows == obj.records
        ends = table["end"].to_pylist()
        assert all(key.window.timestamp() <= e < key.window.timestamp() + 300 for e in ends)
    assert sum(o.records for o in done.s3) == sim.records
    assert len(_objects(tmp_path)) == 12


def test_text_objects_have_the_header_and_gzip(tmp_path):
    log = flow_log("${version} ${interface-id} ${srcaddr} ${dstaddr} ${action} ${log-status} ${start} ${end}")
    done = deliver(_simulate(log), tmp_path)
    text = gzip.decompress(Path(done.s3[0].path).read_bytes()).decode()
    first, second = text.splitlines()[:2]
    assert first == "version interface-id srcaddr dstaddr action log-status start end"
    assert second.split()[0] == "2" and "  " not in text and text.endswith("\n")


def test_parquet_objects_use_aws_types(tmp_path):
    log = flow_log(destination_options={"file_format": "parquet"})
    done = deliver(_simulate(log), tmp_path)
    schema = pq.read_schema(done.s3[0].path)
    assert str(schema.field("protocol").type) == "int32" and str(schema.field("bytes").type) == "int64"
    assert pq.ParquetFile(done.s3[0].path).metadata.row_group(0).column(0).compression == "GZIP"


def test_rotation_starts_a_new_object_when_full(tmp_path):
    sim = _simulate(flow_log())
    whole = deliver(sim, tmp_path / "whole")
    small = deliver(sim, tmp_path / "small", max_file_bytes=2000)
    assert len(small.s3) > len(whole.s3)
    assert sum(o.records for o in small.s3) == sum(o.records for o in whole.s3)
    for obj in small.s3:
        assert len(gzip.decompress(Path(obj.path).read_bytes())) <= 2000
    names = [o.key for o in small.s3]
    assert len(set(names)) == len(names)  # the same window's files get distinct hashes


def test_objects_over_many_slices_hold_every_record_once_in_order(tmp_path, monkeypatch):
    # small slices and a small limit: whole slices, slices cut by rotation, objects over many slices
    monkeypatch.setattr(deliver_s3, "SLICE_ROWS", 5)
    sim = _simulate(flow_log())
    output = sim.outputs[0]
    first = deliver(sim, tmp_path / "a", max_file_bytes=1500)
    again = deliver(sim, tmp_path / "b", max_file_bytes=1500)
    header = output.flow_log.format.header + "\n"
    bodies = []
    for one, two in zip(first.s3, again.s3, strict=True):
        data = Path(one.path).read_bytes()
        assert data == Path(two.path).read_bytes()  # the same records, the same bytes
        text = gzip.decompress(data).decode()
        assert text.startswith(header) and len(text) <= 1500 and text.count("\n") == one.records + 1
        bodies.append(text[len(header) :])
    assert len(first.s3) > 12
    assert "".join(bodies) == "\n".join(lines(output)) + "\n"


def test_everything_reads_back_without_a_bad_record(tmp_path):
    logs = [
        flow_log(),
        flow_log(
            destination_options={"file_format": "parquet"}, log_destination="arn:aws:s3:::test-bucket/p/"
        ),
    ]
    sim = _simulate(*logs)
    done = deliver(sim, tmp_path)
    stats = ReadStats()
    rows = sum(b.num_rows for obj in done.s3 for b in read_batches(obj.path, stats=stats))
    assert stats.bad == 0 and rows == sim.records


def test_ingests_into_the_lake_without_a_bad_record(tmp_path):
    sim = _simulate(
        flow_log(),
        flow_log(
            destination_options={"file_format": "parquet"}, log_destination="arn:aws:s3:::test-bucket/p/"
        ),
    )
    deliver(sim, tmp_path / "out")
    result = ingest(local_sources([tmp_path / "out" / "s3" / "test-bucket"]), tmp_path / "lake")
    assert result.error is None and result.bad == 0
    assert result.records == sim.records


def _cwl_log(traffic="ALL", group="flows") -> FlowLog:
    return FlowLog(
        resource_type="VPC", resource_id="vpc-abcdefab012345678", traffic_type=traffic, log_group_name=group,
        deliver_logs_permission_arn="arn:aws:iam::123456789010:role/publishFlowLogs",
    )  # fmt: skip


def test_cloudwatch_streams_and_events(tmp_path):
    sim = _simulate(_cwl_log())
    done = deliver(sim, tmp_path)
    assert {s.stream for s in done.cloudwatch} == {"eni-0a1b2c3d4e5f60718-all", "eni-0a1b2c3d4e5f60719-all"}
    events = [
        json.loads(x)
        for x in (tmp_path / "logs" / "flows" / "eni-0a1b2c3d4e5f60718-all.jsonl").read_text().splitlines()
    ]
    assert events == sorted(events, key=lambda e: e["timestamp"])
    for event in events:
        fields = event["message"].split()
        start, end = int(fields[10]), int(fields[11])
        assert event["timestamp"] == start * 1000 and event["ingestionTime"] > end * 1000
    messages = "\n".join(e["message"] for e in events) + "\n"
    stats = ReadStats()
    table = read_table(
        __import__("io").BytesIO(messages.encode()), stats=stats
    )  # header-less, default format
    assert stats.bad == 0 and table.num_rows == len(events)


def test_cloudwatch_combined_stream_for_two_flow_logs_in_one_group(tmp_path):
    done = deliver(_simulate(_cwl_log("ACCEPT"), _cwl_log("REJECT")), tmp_path)
    assert {s.stream for s in done.cloudwatch} == {"eni-0a1b2c3d4e5f60718-all", "eni-0a1b2c3d4e5f60719-all"}
    alone = deliver(_simulate(_cwl_log("ACCEPT", "other")), tmp_path / "alone")
    assert {s.stream for s in alone.cloudwatch} == {
        "eni-0a1b2c3d4e5f60718-accept",
        "eni-0a1b2c3d4e5f60719-accept",
    }
