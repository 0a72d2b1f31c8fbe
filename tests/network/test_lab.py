"""The classic VPC endpoint lab, replayed step by step (examples/endpoint-lab/), and what each
interface would log for it (spec flowlogs.md §9.6: NAT gateway records)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vpcflow.network import load_model
from vpcflow.network.reach import evaluate_flow, reach

LAB = Path(__file__).parents[2] / "examples" / "endpoint-lab"


@pytest.fixture(scope="module")
def steps():
    return {p.stem: load_model(p) for p in sorted(LAB.glob("*.yaml"))}


def test_step1_private_instance_reaches_s3_through_the_nat_gateway(steps):
    trace = reach(steps["lab"], "i-app", "service:s3", region="eu-west-1")
    assert trace.outcome.value == "Reachable"
    assert [h.node for h in trace.path if h.direction == "forward"] == [
        "eni-app",
        "eni-lab",
        "igw-lab",
        "s3@eu-west-1",
    ]


def test_step2_without_the_nat_route_s3_times_out(steps):
    trace = reach(steps["step2-no-nat-route"], "i-app", "service:s3", region="eu-west-1")
    assert (trace.outcome.value, trace.explanations[0].code, trace.explanations[0].component) == (
        "TimedOut",
        "NO_ROUTE_TO_DESTINATION",
        "rtb-private",
    )


def test_step3_gateway_endpoint_works_only_for_its_region(steps):
    model = steps["step3-s3-gateway-endpoint"]
    default_region = reach(model, "i-app", "service:s3")  # `aws s3 ls`: the CLI calls us-east-1
    assert default_region.dns["addresses"][0].startswith(("52.216.", "52.217.", "54.231.", "3.5.", "16.182."))
    assert default_region.outcome.value == "TimedOut"
    assert "covers eu-west-1 only" in default_region.explanations[0].detail
    regional = reach(model, "i-app", "service:s3", region="eu-west-1")  # `aws s3 ls --region eu-west-1`
    assert regional.outcome.value == "Reachable"
    assert [h.node for h in regional.path if h.direction == "forward"] == [
        "eni-app",
        "vpce-s3",
        "s3@eu-west-1",
    ]
    route_step = regional.path[0].steps[-1]
    assert "pl-6da54004" in route_step.detail
    assert reach(model, "i-app", "google.com").outcome.value == "TimedOut"


def test_step4_endpoint_policy_is_access_denied_not_a_timeout(steps):
    model = steps["step4-endpoint-policy"]
    denied = reach(model, "i-app", "other-bucket.s3.eu-west-1.amazonaws.com")
    assert denied.reachable and denied.outcome.value == "AccessDenied"
    assert denied.explanations[0].code == "VPCE_POLICY_DENY"
    assert reach(model, "i-app", "lab-data.s3.eu-west-1.amazonaws.com").outcome.value == "Reachable"


def test_nat_flow_observations_match_the_aws_example_shape(steps):
    """Per ENI, per direction: the instance sees end-to-end addresses, the NAT ENI shows itself."""
    verdict = evaluate_flow(steps["lab"], "i-app", "203.0.113.5", "tcp", 443, src_port=40000)
    seen = [
        (
            o.interface_id,
            o.leg,
            o.flow_direction,
            o.srcaddr,
            o.dstaddr,
            o.pkt_srcaddr,
            o.pkt_dstaddr,
            o.action,
        )
        for o in verdict.observations
    ]
    assert seen == [
        ("eni-app", "request", "egress", "10.0.10.20", "203.0.113.5", "10.0.10.20", "203.0.113.5", "ACCEPT"),
        ("eni-lab", "request", "ingress", "10.0.10.20", "10.0.0.100", "10.0.10.20", "203.0.113.5", "ACCEPT"),
        ("eni-lab", "request", "egress", "10.0.0.100", "203.0.113.5", "10.0.0.100", "203.0.113.5", "ACCEPT"),
        (
            "eni-lab",
            "response",
            "ingress",
            "203.0.113.5",
            "10.0.0.100",
            "203.0.113.5",
            "10.0.0.100",
            "ACCEPT",
        ),
        ("eni-lab", "response", "egress", "10.0.0.100", "10.0.10.20", "203.0.113.5", "10.0.10.20", "ACCEPT"),
        (
            "eni-app",
            "response",
            "ingress",
            "203.0.113.5",
            "10.0.10.20",
            "203.0.113.5",
            "10.0.10.20",
            "ACCEPT",
        ),
    ]
    by_key = {(o.interface_id, o.leg, o.flow_direction): o for o in verdict.observations}
    app_out = by_key[("eni-app", "request", "egress")]
    assert (app_out.srcport, app_out.dstport, app_out.traffic_path, app_out.instance_id) == (
        40000,
        443,
        1,
        "i-app",
    )
    nat_out = by_key[("eni-lab", "request", "egress")]
    assert nat_out.instance_id is None and nat_out.requester_managed and nat_out.traffic_path == 2
    assert 1024 <= nat_out.srcport <= 65535  # the NAT gateway's remapped port
    nat_back = by_key[("eni-lab", "response", "ingress")]
    assert nat_back.dstport == nat_out.srcport
    assert by_key[("eni-app", "response", "ingress")].dstport == 40000
    assert {o.az_id for o in verdict.observations} == {"euw1-az1"}


def test_s3_through_the_gateway_endpoint_is_traffic_path_7_and_service_tagged(steps):
    verdict = evaluate_flow(steps["step3-s3-gateway-endpoint"], "i-app", "52.218.1.10", "tcp", 443)
    first = verdict.observations[0]
    assert (first.traffic_path, first.pkt_dst_aws_service) == (7, "S3")
    back = verdict.observations[-1]
    assert (back.flow_direction, back.pkt_src_aws_service, back.traffic_path) == ("ingress", "S3", None)


def test_bastion_via_igw_is_traffic_path_8_with_private_addresses_on_the_eni(steps):
    verdict = evaluate_flow(steps["lab"], "i-bastion", "203.0.113.9", "tcp", 443)
    out, back = verdict.observations
    assert (out.srcaddr, out.traffic_path) == ("10.0.0.10", 8)
    assert (back.dstaddr, back.pkt_dstaddr) == ("10.0.0.10", "10.0.0.10")


def test_rejected_packets_are_observed_where_they_are_dropped(steps):
    # SSH from the internet to the private instance's subnet: no public address; from the office to
    # the bastion on a port its group does not open: REJECT on the bastion's ENI, nothing after.
    verdict = evaluate_flow(steps["lab"], "192.0.2.7", "198.51.100.10", "tcp", 3389)
    assert [(o.interface_id, o.flow_direction, o.action) for o in verdict.observations] == [
        ("eni-bastion", "ingress", "REJECT")
    ]
    assert verdict.observations[0].srcaddr == "192.0.2.7" and verdict.observations[0].dstaddr == "10.0.0.10"
    assert not verdict.delivered
