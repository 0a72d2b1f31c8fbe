"""The simulator over the real network model (examples/endpoint-lab): records as AWS would write them
for the lab's traffic, determinism, the CLI, and the flow log resource rules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vpcflow.capture.flowlogs import parse_flow_logs
from vpcflow.capture.lab import LAB_MODEL, LAB_SCENARIO, run_lab
from vpcflow.capture.modelpaths import ModelPaths
from vpcflow.capture.scenario import parse_scenario
from vpcflow.capture.simulate import simulate
from vpcflow.errors import ModelError
from vpcflow.lake import ingest, local_sources
from vpcflow.network import load_model
from vpcflow.records.badrecords import ReadStats
from vpcflow.records.formats import ATHENA_V5_FORMAT as V5  # noqa: E402 - every v2-v5 field, AWS's order
from vpcflow.records.reader import read_batches
from vpcflow.records.writer import record_lines

FLOW_LOG = {"resource_type": "VPC", "resource_id": "vpc-lab", "traffic_type": "ALL", "max_aggregation_interval": 60,
            "log_destination_type": "s3", "log_destination": "arn:aws:s3:::lab", "log_format": V5}  # fmt: skip


@pytest.fixture(scope="module")
def lab():
    model = load_model(LAB_MODEL)
    return ModelPaths(model)


def _records(finder, scenario: dict, flow_log: dict = FLOW_LOG) -> list[dict]:
    sim = simulate(parse_scenario({"start": "2026-11-24T10:00:00Z", "duration": "10m", **scenario}), finder,
                   parse_flow_logs([flow_log]), ranges=finder.aws_ranges())  # fmt: skip
    names = sim.outputs[0].flow_log.format.tokens
    text = record_lines(sim.outputs[0].table, sim.outputs[0].flow_log.format).decode()
    return [dict(zip(names, line.split(), strict=True)) for line in text.splitlines()]


def test_private_instance_to_s3_through_the_nat_gateway(lab):
    """§9.6 on the lab: the NAT gateway ENI's four records with pkt-* addresses, instance-id '-'."""
    recs = [r for r in _records(lab, {"service_calls": [{"from": "i-app", "region": "eu-west-1", "count": 1}]})
            if r["log-status"] == "OK"]  # fmt: skip
    nat = [r for r in recs if r["interface-id"] == "eni-lab"]
    app = [r for r in recs if r["interface-id"] == "eni-app"]
    assert len(nat) == 4 and len(app) == 2
    assert {r["instance-id"] for r in nat} == {"-"} and {r["instance-id"] for r in app} == {"i-app"}
    s3 = next(r for r in app if r["flow-direction"] == "egress")["dstaddr"]
    to_nat = next(r for r in nat if r["flow-direction"] == "ingress" and r["srcaddr"] == "10.0.10.20")
    assert (to_nat["dstaddr"], to_nat["pkt-dstaddr"], to_nat["pkt-dst-aws-service"]) == (
        "10.0.0.100",
        s3,
        "S3",
    )
    back = next(r for r in nat if r["flow-direction"] == "egress" and r["dstaddr"] == "10.0.10.20")
    assert (back["srcaddr"], back["pkt-srcaddr"]) == ("10.0.0.100", s3)
    out = next(r for r in app if r["flow-direction"] == "egress")
    assert out["traffic-path"] == "1" and out["tcp-flags"] == "3" and out["pkt-dst-aws-service"] == "S3"
    assert next(r for r in app if r["flow-direction"] == "ingress")["traffic-path"] == "-"


def test_scanners_are_rejected_and_dns_is_not_logged(lab):
    recs = _records(lab, {
        "service_calls": [{"from": "i-app", "region": "eu-west-1", "count": 2}],
        "internet_background": [{"from": ["133.242.187.23"], "ports": [7766, 8088], "rate": "10/min"}],
    })  # fmt: skip
    scans = [r for r in recs if r["srcaddr"] == "133.242.187.23"]
    assert (
        scans
        and {r["action"] for r in scans} == {"REJECT"}
        and {r["dstport"] for r in scans} <= {"7766", "8088"}
    )
    assert {r["interface-id"] for r in scans} == {"eni-bastion"} and {r["tcp-flags"] for r in scans} == {"2"}
    assert not [r for r in recs if r["dstport"] == "53" or r["dstaddr"] in ("10.0.0.2", "169.254.169.253")]


def test_idle_interfaces_get_nodata(lab):
    recs = _records(lab, {})
    assert {r["log-status"] for r in recs} == {"NODATA"}
    assert {r["interface-id"] for r in recs} == {"eni-app", "eni-bastion", "eni-lab"}
    assert len(recs) == 30  # three interfaces, ten one-minute windows


def test_same_seed_same_bytes_other_seed_other_traffic(tmp_path):
    a, b, c = (
        run_lab(tmp_path / name, seed=seed, hours=0.25) for name, seed in (("a", 1), ("b", 1), ("c", 2))
    )

    def content(result):
        return sorted((o.key, open(o.path, "rb").read()) for o in result.delivery.s3)

    assert content(a) == content(b)
    assert content(a) != content(c)


def test_lab_reads_back_and_ingests_without_a_bad_record(tmp_path):
    result = run_lab(tmp_path / "out", hours=0.25)
    stats = ReadStats()
    rows = sum(batch.num_rows for obj in result.delivery.s3 for batch in read_batches(obj.path, stats=stats))
    assert stats.bad == 0 and rows == result.simulation.outputs[0].table.num_rows
    lake = ingest(local_sources(result.s3_roots), tmp_path / "lake")
    assert lake.error is None and lake.bad == 0 and lake.records == rows
    assert result.log_groups and all(p.is_dir() for p in result.log_groups)


def test_cli_simulate(tmp_path):
    cmd = [sys.executable, "-m", "vpcflow.cli", "simulate", "--model", str(LAB_MODEL), "--scenario", str(LAB_SCENARIO),
           "--out", str(tmp_path), "--hours", "0.1", "--seed", "4", "-o", "json"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"destination": "s3://lab-flow-logs/vpc/"' in done.stdout
    assert list((tmp_path / "s3" / "lab-flow-logs" / "vpc" / "AWSLogs").rglob("*.log.gz"))
    assert list((tmp_path / "logs" / "lab-flow-logs").glob("eni-*-all.jsonl"))
    bad = subprocess.run([*cmd[:7], str(tmp_path / "missing.yaml"), *cmd[8:]], capture_output=True, text=True)
    assert bad.returncode == 2 and "missing.yaml: cannot read the scenario" in bad.stderr


@pytest.mark.parametrize("change, message", [
    ({"log_destination": "arn:aws:s3:::my-bucket/AWSLogs/"}, "You cannot use AWSLogs as a subfolder name. This is a reserved term."),
    ({"deliver_logs_permission_arn": "arn:aws:iam::111122223333:role/x"}, "DeliverLogsPermissionArn is not applicable for s3 delivery"),
    ({"max_aggregation_interval": 300}, "MaxAggregationInterval must be 60 or 600"),
    ({"traffic_type": None}, "TrafficType is required"),
    ({"log_format": "${version} ${srcadr}"}, "did you mean 'srcaddr'"),
    ({"log_format": "${tgw-id} ${srcaddr}"}, "Transit Gateway fields are valid only in transit gateway flow logs"),
    ({"log_destination_type": "cloud-watch-logs", "log_destination": None, "log_format": None, "log_group_name": "g"},
     "DeliverLogsPermissionArn is required if the destination type is cloud-watch-logs"),
    ({"log_destination_type": "cloud-watch-logs", "log_destination": "arn:aws:logs:us-east-1:111122223333:log-group:g:*",
      "deliver_logs_permission_arn": "arn:aws:iam::111122223333:role/x"}, "must not end in ':*'"),
    ({"destination_options": {"file_format": "orc"}}, "destination_options.file_format"),
    ({"resource_type": "Subnet"}, "is not a Subnet id"),
    ({"colour": "blue"}, "'colour' is not a CreateFlowLogs parameter"),
])  # fmt: skip
def test_flow_log_validation(change, message):
    spec = {**FLOW_LOG, **change}
    spec = {k: v for k, v in spec.items() if v is not None}
    with pytest.raises(ModelError) as err:
        parse_flow_logs([spec], "lab.yaml")
    assert message in str(err.value) and str(err.value).startswith("lab.yaml: flow_logs[0]")


def test_flow_log_region_and_missing_resource(lab):
    cwl = {"resource_type": "VPC", "resource_id": "vpc-lab", "traffic_type": "ALL",
           "log_destination": "arn:aws:logs:us-east-1:111122223333:log-group:g",
           "deliver_logs_permission_arn": "arn:aws:iam::111122223333:role/x"}  # fmt: skip
    with pytest.raises(ModelError, match="LogDestination must be in the same region as the API caller."):
        parse_flow_logs([cwl], region="eu-west-1")
    missing = {**FLOW_LOG, "resource_id": "vpc-nothere"}
    with pytest.raises(ModelError, match="InvalidVpcID.NotFound: The vpc ID 'vpc-nothere' does not exist"):
        simulate(parse_scenario({}), lab, parse_flow_logs([missing]))


def test_resource_ids_expand_to_one_flow_log_each():
    logs = parse_flow_logs([{**{k: v for k, v in FLOW_LOG.items() if k != "resource_id"}, "resource_type": "Subnet",
                             "resource_ids": ["subnet-public-a", "subnet-private-a"]}])  # fmt: skip
    assert [f.resource_id for f in logs] == ["subnet-public-a", "subnet-private-a"] and logs[0].id != logs[
        1
    ].id
