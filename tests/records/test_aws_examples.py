"""Every record example in AWS's documentation parses to the values the documentation states.

The cases are in fixtures/aws_doc_records.jsonl (flowlogs.md §3.3, §5.1, §9), one a line: add a
case by adding a line.
"""

import gzip
import io
import json
from pathlib import Path

import pytest

from vpcflow.records.reader import read_table

CASES = [json.loads(line) for line in (Path(__file__).parent / "fixtures" / "aws_doc_records.jsonl").open()]


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_doc_record_parses_to_documented_values(case):
    source = io.BytesIO((case["line"] + "\n").encode())
    source.name = case["case"]
    row = read_table(source, log_format=case["format"]).to_pylist()
    assert len(row) == 1
    for column, value in case["expect"].items():
        assert row[0][column] == value, column


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_doc_record_in_an_s3_file_with_its_header(case, tmp_path):
    from vpcflow.records.formats import resolve_format

    fmt = resolve_format(case["format"])
    path = tmp_path / "x.log.gz"
    path.write_bytes(gzip.compress(f"{fmt.header}\n{case['line']}\n".encode()))
    row = read_table(path).to_pylist()[0]
    for column, value in case["expect"].items():
        assert row[column] == value


def test_cloudwatch_export_line_from_the_docs(tmp_path):
    path = tmp_path / "export.txt"
    path.write_text(
        "2018-09-22T20:28:14.000Z 2 633112549318 eni-d68830d4 209.141.42.153 10.155.108.192 54252 8088 6 1 40 1537648094 1537648129 ACCEPT OK\n"
    )
    row = read_table(path).to_pylist()[0]
    assert row["srcaddr"] == "209.141.42.153" and row["dstport"] == 8088 and row["start"] == 1537648094
    assert "event-timestamp" not in row


def test_subscription_payload_from_the_docs(tmp_path):
    payload = {
        "messageType": "DATA_MESSAGE", "owner": "647604195155", "logGroup": "VPCFlowLogGroup",
        "logStream": "eni-0c19436730cc350ae-all", "subscriptionFilters": ["flowlogstest"],
        "logEvents": [{"id": "37976342262953223179038144714945888722564951965555163136", "timestamp": 1702918083000,
                       "message": "2 647604195155 eni-0c19436730cc350ae 10.5.81.140 10.90.0.45 53598 443 6 2 120 1702918083 1702918083 ACCEPT OK"}],
    }  # fmt: skip
    control = {"messageType": "CONTROL_MESSAGE", "logEvents": [{"message": "CWL CONTROL MESSAGE: Checking health"}]}
    path = tmp_path / "payload.gz"
    path.write_bytes(gzip.compress((json.dumps(control) + json.dumps(payload) + json.dumps(payload)).encode()))
    rows = read_table(path).to_pylist()
    assert len(rows) == 2 and rows[0]["dstaddr"] == "10.90.0.45" and rows[0]["bytes"] == 120


def test_transit_gateway_flow_logs_read_with_their_own_fields(tmp_path):
    from vpcflow.records.formats import TGW_DEFAULT_FORMAT, LogFormat

    fmt = LogFormat.parse(TGW_DEFAULT_FORMAT)
    values = {
        "version": "6", "resource-type": "TransitGatewayAttachment", "account-id": "123456789010",
        "tgw-id": "tgw-0123456789abcdef0", "tgw-attachment-id": "tgw-attach-0123456789abcdef0",
        "tgw-src-vpc-account-id": "123456789010", "tgw-dst-vpc-account-id": "123456789010",
        "tgw-src-vpc-id": "vpc-0a", "tgw-dst-vpc-id": "vpc-0b", "tgw-src-subnet-id": "subnet-0a",
        "tgw-dst-subnet-id": "subnet-0b", "tgw-src-eni": "eni-0a", "tgw-dst-eni": "eni-0b",
        "tgw-src-az-id": "use1-az1", "tgw-dst-az-id": "use1-az2", "tgw-pair-attachment-id": "tgw-attach-0b",
        "srcaddr": "10.20.33.164", "dstaddr": "10.40.2.236", "srcport": "39812", "dstport": "80", "protocol": "6",
        "packets": "10", "bytes": "1000", "start": "1566848875", "end": "1566848933", "log-status": "OK",
        "type": "IPv4", "packets-lost-no-route": "0", "packets-lost-blackhole": "2", "packets-lost-mtu-exceeded": "0",
        "packets-lost-ttl-expired": "0", "tcp-flags": "3", "region": "us-east-1", "flow-direction": "ingress",
        "pkt-src-aws-service": "-", "pkt-dst-aws-service": "-",
    }  # fmt: skip
    assert fmt.family == "tgw" and fmt.version == 6 and list(values) == fmt.tokens
    path = tmp_path / "tgw.log"
    path.write_text(fmt.header + "\n" + " ".join(values.values()) + "\n")
    row = read_table(path).to_pylist()[0]
    assert row["tgw_id"] == "tgw-0123456789abcdef0" and row["packets_lost_blackhole"] == 2
    assert row["resource_type"] == "TransitGatewayAttachment" and row["pkt_src_aws_service"] is None
