"""`vpcflow report` as a user runs it: a real subprocess over a real lake."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.reports.lakegen import flow, write_lake
from vpcflow.reports.enrich.aws_ranges import sample_path

T0 = 1_764_000_000


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    records = [flow("133.11.0.1", "10.0.0.5", 40000, p, action="REJECT", start=T0 + p) for p in range(20, 45)]
    records += [flow("10.0.0.5", "52.218.1.1", 40000, 443, bytes=5000, start=T0 + 600)]
    return write_lake(tmp_path_factory.mktemp("lake"), records)


def vpcflow(*args, env_cache):
    env = {**os.environ, "VPCFLOW_CACHE_DIR": str(env_cache)}
    return subprocess.run(
        [sys.executable, "-m", "vpcflow.cli", *map(str, args)], capture_output=True, text=True, env=env
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def test_rejects_as_json_lines(lake, cache):
    done = vpcflow("report", "rejects", "--lake", lake, "--output", "json", "--top", "3", env_cache=cache)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 3 and rows[0]["source"] == "133.11.0.1" and rows[0]["country"] == "JP"


def test_scanners_as_table_and_csv(lake, cache):
    done = vpcflow("report", "scanners", "--lake", lake, env_cache=cache)
    assert done.returncode == 0, done.stderr
    assert (
        "Port scans" in done.stdout and "133.11.0.1" in done.stdout and "vertical >= 15 ports" in done.stderr
    )
    done = vpcflow("report", "scanners", "--lake", lake, "-o", "csv", env_cache=cache)
    header, row = done.stdout.splitlines()
    assert header.startswith('"kind","source"') and '"vertical","133.11.0.1"' in row and '"20-44"' in row
    done = vpcflow("report", "scanners", "--lake", lake, "-o", "csv", "--min-ports", "30", env_cache=cache)
    assert done.stdout.strip() == ""  # 25 ports is under the threshold: no finding, no header


def test_services_with_the_sample_ranges(lake, cache):
    done = vpcflow(
        "report", "services", "--lake", lake, "--ip-ranges", sample_path(), "-o", "json", env_cache=cache
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["service"] == "S3"


def test_html_page_is_standalone(lake, cache, tmp_path):
    page = tmp_path / "page.html"
    done = vpcflow("report", "rejects", "--lake", lake, "--html", page, env_cache=cache)
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    assert text.count("<svg") == 3 and "133.11.0.1 (JP)" in text
    # Nothing to fetch: no scripts, stylesheets or images from elsewhere.
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", text)


@pytest.mark.parametrize(
    "args, message",
    [
        (["report", "nope", "--lake", "{lake}"], "no report 'nope'"),
        (["report", "rejects", "--lake", "{missing}"], "no such lake folder"),
        (
            ["report", "rejects", "--lake", "{lake}", "--since", "yesterday"],
            "--since 'yesterday': not a time",
        ),
        (["report", "top-talkers", "--lake", "{lake}", "--by", "vpc"], "--by 'vpc': choose pair or eni"),
        (["report", "services", "--lake", "{lake}", "--ip-ranges", "{missing}"], "no such file"),
    ],
)
def test_errors_name_the_option_and_the_fix(lake, cache, tmp_path, args, message):
    args = [a.format(lake=lake, missing=tmp_path / "missing") for a in args]
    done = vpcflow(*args, env_cache=cache)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_explain_with_the_lab_model(tmp_path, cache):
    lake = write_lake(
        tmp_path, [flow("133.11.0.1", "10.0.0.10", 40000, 3389, action="REJECT", eni="eni-bastion")]
    )
    done = vpcflow(
        "report",
        "explain",
        "--lake",
        lake,
        "--model",
        "examples/endpoint-lab/lab.yaml",
        "-o",
        "json",
        env_cache=cache,
    )
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)
    assert (
        row["code"] == "ENI_SG_RULES_MISMATCH"
        and row["responsible"] == "no ingress rule of sg-bastion matches"
    )
    done = vpcflow("report", "explain", "--lake", lake, env_cache=cache)
    assert done.returncode == 2 and "needs the VPC model: add --model" in done.stderr
