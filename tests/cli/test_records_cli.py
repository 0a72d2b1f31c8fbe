"""`vpcflow cat`, `convert` and `fields` through the real command line (a subprocess)."""

import gzip
import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

HEADER = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
LINES = [
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
    "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
    "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
]


def vpcflow(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "vpcflow.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def s3_file(tmp_path):
    path = tmp_path / "123456789010_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz"
    path.write_bytes(gzip.compress(("\n".join([HEADER, *LINES]) + "\n").encode()))
    return path


def test_cat_json_uses_athena_names_numbers_and_null(s3_file):
    result = vpcflow("cat", s3_file, "--output", "json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["log_status"] == "OK" and rows[0]["srcport"] == 20641 and rows[2]["srcaddr"] is None
    assert "3 good records, 0 bad records in 1 files" in result.stderr


def test_cat_csv_and_table(s3_file):
    csv = vpcflow("cat", s3_file, "-o", "csv").stdout.splitlines()
    assert csv[0].startswith('"version","account_id"') and len(csv) == 4
    table = vpcflow("cat", s3_file).stdout
    assert "eni-1235b8ca123456789" in table and "NODATA" in table


def test_cat_headerless_records_with_log_format(tmp_path):
    path = tmp_path / "messages.txt"
    path.write_text("eni-1 10.0.1.5 203.0.113.5\n")
    result = vpcflow("cat", path, "--log-format", "${interface-id} ${srcaddr} ${dstaddr}", "-o", "json")
    assert json.loads(result.stdout) == {"interface_id": "eni-1", "srcaddr": "10.0.1.5", "dstaddr": "203.0.113.5"}


def test_cat_bad_records_policies(tmp_path):
    path = tmp_path / "bad.log"
    path.write_text("\n".join([HEADER, LINES[0], LINES[0].replace("ACCEPT", "ALLOW"), LINES[1]]) + "\n")
    fail = vpcflow("cat", path, "-o", "json")
    assert fail.returncode == 1 and f"{path}:3: field 'action': unknown value 'ALLOW'" in fail.stderr
    assert len(fail.stdout.splitlines()) == 1  # the good record before the bad one was printed
    skip = vpcflow("cat", path, "-o", "json", "--on-error", "skip")
    assert skip.returncode == 0 and len(skip.stdout.splitlines()) == 2
    assert "2 good records, 1 bad records" in skip.stderr
    assert f"error: {path}:3: field 'action': unknown value 'ALLOW'" in skip.stderr  # read on, but named
    quarantine = vpcflow("cat", path, "-o", "json", "--on-error", "quarantine", "--quarantine-dir", tmp_path / "q")
    assert quarantine.returncode == 1 and len(quarantine.stdout.splitlines()) == 2
    assert quarantine.stderr.splitlines()[0].startswith(f"error: {path}:3: field 'action'")
    assert (tmp_path / "q" / "bad.log.bad").read_text() == LINES[0].replace("ACCEPT", "ALLOW") + "\n"


def test_cat_unreadable_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.log"
    path.write_text("")
    result = vpcflow("cat", path)
    assert result.returncode == 1 and f"{path}: empty file" in result.stderr and "Traceback" not in result.stderr


def test_unknown_log_format_field_is_a_clear_error(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("x\n")
    result = vpcflow("cat", path, "--log-format", "${srcadr}")
    assert result.returncode == 2 and "did you mean 'srcaddr'" in result.stderr and "Traceback" not in result.stderr


def test_convert_text_to_parquet_and_back_is_byte_identical(s3_file, tmp_path):
    parquet = tmp_path / "x.log.parquet"
    assert vpcflow("convert", s3_file, parquet).returncode == 0
    schema = pq.read_schema(parquet)
    assert str(schema.field("protocol").type) == "int32" and str(schema.field("packets").type) == "int64"
    back = tmp_path / "back.log.gz"
    assert vpcflow("convert", parquet, back).returncode == 0
    assert gzip.decompress(back.read_bytes()) == gzip.decompress(s3_file.read_bytes())


def test_fields_lists_the_catalog():
    rows = [json.loads(line) for line in vpcflow("fields", "--output", "json").stdout.splitlines()]
    tokens = [r["field"] for r in rows]
    assert tokens[:3] == ["${version}", "${account-id}", "${interface-id}"]
    assert "${traffic-path}" in tokens and "${tgw-id}" in tokens and "${ecs-task-id}" in tokens
    action = next(r for r in rows if r["field"] == "${action}")
    assert action["values"] == "ACCEPT, REJECT" and action["column"] == "action" and action["version"] == 2
    assert "traffic-path" in vpcflow("fields", "--family", "vpc").stdout
