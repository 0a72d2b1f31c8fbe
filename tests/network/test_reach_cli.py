"""`vpcflow reach` through typer's runner and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from vpcflow.cli import app

ROOT = Path(__file__).parents[2]
LAB = ROOT / "examples" / "endpoint-lab"
runner = CliRunner()


def test_text_tree_for_a_reachable_flow():
    result = runner.invoke(
        app,
        [
            "reach",
            "--model",
            str(LAB / "lab.yaml"),
            "--from",
            "i-app",
            "--to",
            "service:s3",
            "--region",
            "eu-west-1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Reachable  i-app -> service:s3 (tcp port 443)")
    for words in (
        "forward path",
        "return path",
        "nat-lab: source 10.0.10.20",
        "igw-lab: source 10.0.0.100 -> 198.51.100.20",
    ):
        assert words in result.output


def test_json_for_the_region_trap_exits_1():
    result = runner.invoke(
        app,
        [
            "reach",
            "-m",
            str(LAB / "step3-s3-gateway-endpoint.yaml"),
            "--from",
            "i-app",
            "--to",
            "service:s3",
            "-o",
            "json",
        ],
    )
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert set(doc) >= {"reachable", "outcome", "path", "explanations"}
    assert (doc["reachable"], doc["outcome"]) == (False, "TimedOut")
    exp = doc["explanations"][0]
    assert set(exp) == {"code", "component", "direction", "detail", "fix"}
    assert (exp["code"], exp["component"], exp["direction"]) == (
        "NO_ROUTE_TO_DESTINATION",
        "rtb-private",
        "forward",
    )
    assert "--region eu-west-1" in exp["fix"]


def test_access_denied_is_reachable_but_exits_1():
    result = runner.invoke(
        app,
        [
            "reach",
            "-m",
            str(LAB / "step4-endpoint-policy.yaml"),
            "--from",
            "i-app",
            "--to",
            "lab-data.s3.eu-west-1.amazonaws.com",
            "--action",
            "s3:DeleteObject",
            "--resource",
            "arn:aws:s3:::lab-data/k",
            "-o",
            "json",
        ],
    )
    doc = json.loads(result.output)
    assert result.exit_code == 1 and doc["reachable"] is True and doc["outcome"] == "AccessDenied"


def test_icmp_and_protocol_numbers():
    result = runner.invoke(
        app,
        ["reach", "-m", str(LAB / "lab.yaml"), "--from", "192.0.2.1", "--to", "i-bastion", "--protocol", "1"],
    )
    assert result.exit_code == 1 and "ENI_SG_RULES_MISMATCH" in result.output


def test_bad_model_is_an_error_with_exit_2(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("vpcs:\n  - {id: vpc-a, region: eu-west-1, cidr_blocks: [10.0.0.0/40]}\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vpcflow.cli",
            "reach",
            "-m",
            str(bad),
            "--from",
            "10.0.0.5",
            "--to",
            "8.8.8.8",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {bad}: vpc-a: field 'cidr_blocks.0'")


def test_subprocess_json(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vpcflow.cli",
            "reach",
            "-m",
            str(LAB / "lab.yaml"),
            "--from",
            "i-bastion",
            "--to",
            "i-app",
            "--port",
            "22",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["outcome"] == "Reachable"
