"""`vpcflow demo`, the main job of `make run`, through the real command line."""

import subprocess
import sys


def test_demo_runs_the_lab_end_to_end(tmp_path):
    out = tmp_path / "demo"
    run = subprocess.run(
        [sys.executable, "-m", "vpcflow.cli", "demo", "--out", str(out)], capture_output=True, text=True, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    text = run.stdout
    for needle in (
        "NO_ROUTE_TO_DESTINATION at rtb-private",
        "Reachable: eni-app -> vpce-s3 -> s3@eu-west-1",
        "AccessDenied: VPCE_POLICY_DENY",
        "0 bad",
        "WHERE action = 'REJECT' AND protocol = 6",
        "First 12 of 100 rows",
        "7766,8088",
        "vpcflow query --lake",
    ):
        assert needle in text, needle
    countries = {line.split("│")[1].strip() for line in text.splitlines() if line.count("│") > 5}
    assert {"JP", "IE", "DE"} <= countries
    assert (out / "lake" / "vpc_flow_logs").is_dir() and (out / "capture" / "logs").is_dir()


def test_demo_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    run = subprocess.run(
        [sys.executable, "-m", "vpcflow.cli", "demo", "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode != 0 and "not made by `vpcflow demo`" in run.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"
