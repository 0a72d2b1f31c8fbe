"""`vpcflow doctor`: golden cases (tests/network/doctor_cases.txt, one model a line with every finding
it must give), the details and fixes of each check, and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vpcflow.cli import app
from vpcflow.network import Model, load_model
from vpcflow.network.doctor import CHECKS, Severity, doctor
from vpcflow.network.reach import reach

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
runner = CliRunner()


def model_path(name: str) -> Path:
    if name.startswith("lab:"):
        return ROOT / "examples" / "endpoint-lab" / f"{name[4:]}.yaml"
    if name.startswith("describe:"):
        return ROOT / "examples" / "endpoint-lab-describe" / name[9:]
    return HERE / "doctor" / f"{name}.yaml"


@cache
def model_named(name: str) -> Model:
    return load_model(model_path(name))


def _cases():
    for number, line in enumerate((HERE / "doctor_cases.txt").read_text().splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            name, expected = (f.strip() for f in line.split("|"))
            want = set() if expected == "-" else {tuple(x.strip().split(":")) for x in expected.split(",")}
            yield pytest.param(name, want, id=f"{number}:{name}")


CASES = list(_cases())


def test_every_check_has_a_case_that_fires_it():
    fired = {code for _, want in (c.values for c in CASES) for _, code, _ in want}
    assert fired == set(CHECKS)
    assert {p.stem for p in (HERE / "doctor").glob("*.yaml")} <= {c.values[0] for c in CASES}


@pytest.mark.parametrize("name, want", CASES)
def test_doctor_case(name, want):
    report = doctor(model_named(name))
    assert {(f.severity.value, f.code, f.resource_id) for f in report.findings} == want
    severities = [f.severity for f in report.findings]
    assert severities == sorted(severities, key=list(Severity).index)  # errors first


def _finding(name: str, code: str):
    return next(f for f in doctor(model_named(name)).findings if f.code == code)


@pytest.mark.parametrize(
    "name, code, in_detail, in_fix",
    [
        (
            "endpoint-wrong-table",
            "ENDPOINT_NOT_ROUTED",
            "calls to s3 in eu-west-1 time out (no route for",
            "aws ec2 modify-vpc-endpoint --vpc-endpoint-id vpce-s3 --add-route-table-ids rtb-private",
        ),
        (
            "endpoint-via-nat",
            "ENDPOINT_NOT_ROUTED",
            "go through nat-lab instead",
            "--add-route-table-ids rtb-private",
        ),
        (
            "endpoint-no-route-table",
            "ENDPOINT_NO_ROUTE_TABLE",
            "is in no route table",
            "--vpc-endpoint-id vpce-s3",
        ),
        ("interface-endpoint-no-subnet", "ENDPOINT_NO_SUBNET", "no network interface", "--add-subnet-ids"),
        (
            "private-dns-hostnames-off",
            "PRIVATE_DNS_NEEDS_VPC_DNS",
            "vpc-lab has enableDnsHostnames off: sqs.eu-west-1.amazonaws.com still resolves to public addresses",
            "aws ec2 modify-vpc-attribute --vpc-id vpc-lab --enable-dns-hostnames '{\"Value\":true}'",
        ),
        (
            "nat-in-private-subnet",
            "NAT_GATEWAY_NO_IGW_ROUTE",
            "its 0.0.0.0/0 route goes to nat-lab",
            "aws ec2 create-route --route-table-id rtb-private --destination-cidr-block 0.0.0.0/0 --gateway-id igw-lab",
        ),
        (
            "public-subnet-no-igw",
            "PUBLIC_SUBNET_NO_IGW_ROUTE",
            "its 0.0.0.0/0 route goes to nat-lab",
            "--no-map-public-ip-on-launch",
        ),
        (
            "instance-no-public-ip",
            "INSTANCE_NO_PUBLIC_IP",
            "0.0.0.0/0 -> igw-lab",
            "--network-interface-id eni-web",
        ),
        (
            "ssh-open-to-world",
            "SG_OPEN_ADMIN_PORT",
            "lets 0.0.0.0/0 in on 22 (SSH); eni-bastion has a public address",
            "IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/0}]",
        ),
        (
            "all-open-private",
            "SG_OPEN_ADMIN_PORT",
            "lets ::/0 in on 22 (SSH), 23 (Telnet), 3389 (RDP)",
            "IpProtocol=-1,Ipv6Ranges=[{CidrIpv6=::/0}]",
        ),
        (
            "blackhole-route",
            "BLACKHOLE_ROUTE",
            "172.16.0.0/12 -> nat-old is a blackhole",
            "aws ec2 delete-route --route-table-id rtb-private --destination-cidr-block 172.16.0.0/12",
        ),
        (
            "unused-group",
            "UNUSED_SECURITY_GROUP",
            "sg-old (old-web)",
            "aws ec2 delete-security-group --group-id sg-old",
        ),
        (
            "lab:step2-no-nat-route",
            "NAT_GATEWAY_UNUSED",
            "nat-lab",
            "release-address --allocation-id eipalloc-lab",
        ),
    ],
)
def test_detail_and_fix(name, code, in_detail, in_fix):
    finding = _finding(name, code)
    assert in_detail in finding.detail
    assert in_fix in finding.fix
    assert finding.vpc_id == "vpc-lab"


@pytest.mark.parametrize(
    "name, src, dst, region",
    [
        ("endpoint-wrong-table", "i-app", "service:s3", "eu-west-1"),
        ("nat-in-private-subnet", "i-app", "google.com", None),
    ],
)
def test_errors_are_what_reach_finds_broken(name, src, dst, region):
    """An error finding describes traffic that cannot flow: the engine agrees."""
    assert doctor(model_named(name)).has_errors
    assert reach(model_named(name), src, dst, region=region).outcome.value == "TimedOut"
    assert reach(model_named("lab:lab"), src, dst, region=region).outcome.value == "Reachable"


def test_only_the_named_checks_run():
    report = doctor(model_named("endpoint-wrong-table"), ["NAT_GATEWAY_UNUSED"])
    assert [f.code for f in report.findings] == ["NAT_GATEWAY_UNUSED"]
    with pytest.raises(ValueError, match="unknown check 'NOPE'"):
        doctor(model_named("lab:lab"), ["NOPE"])


# --- the command line ----------------------------------------------------------------------------


def test_cli_text_and_exit_status():
    clean = runner.invoke(app, ["doctor", "--model", str(model_path("lab:lab"))])
    assert clean.exit_code == 0 and "No findings" in clean.output
    broken = runner.invoke(app, ["doctor", "-m", str(model_path("ssh-open-to-world"))])
    assert broken.exit_code == 1, broken.output
    for words in (
        "SG_OPEN_ADMIN_PORT",
        "sg-bastion",
        "revoke-security-group-ingress",
        "1 error, 0 warnings, 0 infos",
    ):
        assert words in broken.output


def test_cli_json_warnings_only_exit_0():
    result = runner.invoke(
        app, ["doctor", "--model", str(model_path("describe:step3-s3-gateway-endpoint")), "--output", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["summary"] == {"error": 0, "warning": 0, "info": 2}
    assert {f["code"] for f in data["findings"]} == {"ENDPOINT_NOT_ROUTED", "NAT_GATEWAY_UNUSED"}
    assert set(data["findings"][0]) == {"code", "severity", "resource_id", "vpc_id", "detail", "fix"}


def test_cli_invalid_model_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("vpcs:\n  - {id: vpc-x, region: eu-west-1, cidr_blocks: [10.0.0.0/33]}\n")
    result = subprocess.run(
        [sys.executable, "-m", "vpcflow.cli", "doctor", "--model", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "vpc-x: field 'cidr_blocks.0'" in result.stderr
