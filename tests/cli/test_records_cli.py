"""`vpcflow cat`, `convert` and `fields` through the real command line (a subprocess)."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

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
    (kept,) = (tmp_path / "q").glob("bad.log.*.bad")
    assert kept.read_text() == LINES[0].replace("ACCEPT", "ALLOW") + "\n"


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


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BINARY = bytes(range(256)) * 8  # no gzip or Parquet magic: read as text, rejected as binary data


def _counts(stderr: str) -> str:
    """The closing line: every command that reads records ends with its counts."""
    return stderr.strip().splitlines()[-1]


def _bad_lines_file(path, bad="http"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, LINES[0], LINES[0].replace("20641", bad), LINES[1]]) + "\n")
    return path


def test_convert_an_unreadable_source_is_a_bad_input_like_in_cat(tmp_path):
    src = tmp_path / "binary.log"
    src.write_bytes(BINARY)
    skip = vpcflow("convert", src, tmp_path / "out.log.gz", "--on-error", "skip")
    assert skip.returncode == 0, skip.stderr
    assert f"error: {src}:" in skip.stderr and "binary data" in skip.stderr and "Traceback" not in skip.stderr
    assert _counts(skip.stderr) == "0 good records, 1 bad records in 1 files"
    assert "out.log.gz not written" in skip.stderr and not (tmp_path / "out.log.gz").exists()
    fail = vpcflow("convert", src, tmp_path / "out.log.gz")
    assert fail.returncode == 1 and _counts(fail.stderr) == "0 good records, 1 bad records in 1 files"
    assert vpcflow("cat", src, "--on-error", "skip").returncode == 0  # as cat does


def test_convert_an_empty_file_ends_with_the_counts(tmp_path):
    src = tmp_path / "empty.log"
    src.write_text("")
    result = vpcflow("convert", src, tmp_path / "out.parquet")
    assert result.returncode == 1 and f"{src}: empty file" in result.stderr
    assert _counts(result.stderr) == "0 good records, 1 bad records in 1 files"


def test_convert_that_stops_at_a_bad_record_leaves_no_partial_output(tmp_path):
    src = _bad_lines_file(tmp_path / "textnum.log")
    dst = tmp_path / "out.parquet"
    result = vpcflow("convert", src, dst)
    assert result.returncode == 1 and f"{src}:3: field 'srcport'" in result.stderr
    assert f"{dst} not written" in result.stderr
    assert _counts(result.stderr) == "1 good records, 1 bad records in 1 files"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["textnum.log"]  # no DST, no temporary file
    # an earlier DST is left as it was, and a finished conversion replaces it
    dst.write_bytes(b"earlier")
    assert vpcflow("convert", src, dst).returncode == 1 and dst.read_bytes() == b"earlier"
    skip = vpcflow("convert", src, dst, "--on-error", "skip")
    assert skip.returncode == 0 and pq.read_table(dst).num_rows == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet", "textnum.log"]


def test_convert_to_an_unknown_extension_is_a_usage_error_before_reading(tmp_path):
    src = _bad_lines_file(tmp_path / "x.log")
    result = vpcflow("convert", src, tmp_path / "out.csv")
    assert result.returncode == 2 and not (tmp_path / "out.csv").exists()
    assert all(ending in result.stderr for ending in (".parquet", ".log.gz", ".log"))
    assert "srcport" not in result.stderr and "good records" not in result.stderr  # nothing was read
    missing = vpcflow("convert", tmp_path / "nope.log", tmp_path / "out.csv")
    assert missing.returncode == 2 and ".log.gz" in missing.stderr and "no such file" not in missing.stderr


@pytest.mark.parametrize(
    "name, content",
    [("binary.log", BINARY), ("empty.log", b""), ("unknown-header.log", b"version acount-id\n2 1\n")],
)
def test_quarantine_keeps_a_whole_rejected_file_with_its_origin(tmp_path, name, content):
    src = tmp_path / name
    src.write_bytes(content)
    result = vpcflow("cat", src, "--on-error", "quarantine", "--quarantine-dir", tmp_path / "q")
    assert result.returncode == 1
    assert _counts(result.stderr) == f"0 good records, 1 bad records in 1 files; bad lines kept in {tmp_path / 'q'}/"
    (kept,) = (tmp_path / "q").glob(f"{name}.*.bad")
    assert kept.read_bytes() == content  # untouched
    (origin,) = map(json.loads, kept.with_name(kept.name + ".jsonl").read_text().splitlines())
    assert origin["source"] == str(src) and origin["whole_file"] is True and origin["error"]


def test_convert_quarantine_defaults_beside_the_output_and_cat_to_the_current_folder(tmp_path):
    src = _bad_lines_file(tmp_path / "in" / "x.log")
    (tmp_path / "out").mkdir()
    result = vpcflow("convert", src, "out/x.parquet", "--on-error", "quarantine", cwd=tmp_path)
    assert result.returncode == 1 and (tmp_path / "out" / "x.parquet").exists()
    assert "bad lines kept in out/vpcflow-quarantine/" in result.stderr
    assert len(list((tmp_path / "out" / "vpcflow-quarantine").glob("x.log.*.bad"))) == 1
    assert not (tmp_path / "vpcflow-quarantine").exists()
    assert vpcflow("cat", src, "--on-error", "quarantine", cwd=tmp_path).returncode == 1
    assert len(list((tmp_path / "vpcflow-quarantine").glob("x.log.*.bad"))) == 1


def test_quarantine_keeps_inputs_of_one_name_apart(tmp_path):
    first = _bad_lines_file(tmp_path / "a" / "x.log", bad="http")
    second = _bad_lines_file(tmp_path / "b" / "x.log", bad="ssh")
    result = vpcflow("cat", first, second, "--on-error", "quarantine", "--quarantine-dir", tmp_path / "q")
    assert result.returncode == 1
    kept = sorted((tmp_path / "q").glob("x.log.*.bad"))
    assert len(kept) == 2
    by_source = {json.loads(k.with_name(k.name + ".jsonl").read_text())["source"]: k.read_text() for k in kept}
    assert by_source == {
        str(first): LINES[0].replace("20641", "http") + "\n",
        str(second): LINES[0].replace("20641", "ssh") + "\n",
    }
    again = vpcflow("cat", first, second, "--on-error", "quarantine", "--quarantine-dir", tmp_path / "q")
    assert again.returncode == 1 and sorted((tmp_path / "q").glob("x.log.*.bad")) == kept  # same names


def test_a_rerun_replaces_the_quarantine_of_an_earlier_run(tmp_path):
    src = _bad_lines_file(tmp_path / "x.log")
    args = ("cat", src, "--on-error", "quarantine", "--quarantine-dir", tmp_path / "q")
    vpcflow(*args)
    vpcflow(*args)
    (kept,) = (tmp_path / "q").glob("x.log.*.bad")
    assert kept.read_text() == LINES[0].replace("20641", "http") + "\n"  # once, not once a run
    assert len(kept.with_name(kept.name + ".jsonl").read_text().splitlines()) == 1
    src.write_text("\n".join([HEADER, *LINES]) + "\n")  # mended: a clean re-read leaves nothing stale
    clean = vpcflow(*args)
    assert clean.returncode == 0 and "kept" not in clean.stderr and list((tmp_path / "q").iterdir()) == []


def test_fields_show_the_arrow_type():
    rows = {r["field"]: r for r in map(json.loads, vpcflow("fields", "--output", "json").stdout.splitlines())}
    assert rows["${srcport}"]["arrow_type"] == "int32" and rows["${packets}"]["arrow_type"] == "int64"
    assert rows["${vpc-id}"]["arrow_type"] == "string"
    assert rows["${srcport}"]["type"] == "int" and rows["${srcport}"]["parquet"] == "INT_32"  # kept
    table = vpcflow("fields").stdout
    assert "arrow_type" in table and "int64" in table


def test_cat_a_folder_reads_its_flow_log_files_and_a_named_file_always(tmp_path):
    examples = vpcflow("cat", EXAMPLES / "flowlogs", "-o", "json")
    assert examples.returncode == 0, examples.stderr
    flow_logs = [p for p in (EXAMPLES / "flowlogs").rglob("*") if p.is_file() and p.name != "README.md"]
    assert _counts(examples.stderr).endswith(f"0 bad records in {len(flow_logs)} files")
    folder = tmp_path / "logs"
    _bad_lines_file(folder / "deep" / "x.log", bad="22")
    (folder / "copy.txt").write_text("\n".join([HEADER, *LINES]) + "\n")
    (folder / "README.md").write_text("# notes, not flow logs\n")
    (folder / ".hidden.log").write_bytes(BINARY)
    result = vpcflow("cat", folder, "-o", "json")
    assert result.returncode == 0 and _counts(result.stderr) == "6 good records, 0 bad records in 2 files"
    named = vpcflow("cat", folder / "README.md")
    assert named.returncode == 1 and "README.md" in named.stderr
    (tmp_path / "nothing").mkdir()
    empty = vpcflow("cat", tmp_path / "nothing")
    assert empty.returncode == 2 and "no flow log files" in empty.stderr


def test_unreadable_files_are_counted_as_files_read(tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_text("")
    good = _bad_lines_file(tmp_path / "good.log", bad="22")
    result = vpcflow("cat", empty, good, "--on-error", "skip", "-o", "json")
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 3
    assert _counts(result.stderr) == "3 good records, 1 bad records in 2 files"
    alone = vpcflow("cat", empty)
    assert _counts(alone.stderr) == "0 good records, 1 bad records in 1 files"


def _payload(n: int) -> bytes:
    record = f"2 123456789010 eni-1 10.0.0.{n} 10.0.0.9 1000 443 6 1 40 1418530010 1418530070 ACCEPT OK"
    event = {"id": str(n), "timestamp": 0, "message": record}
    return gzip.compress(json.dumps({"messageType": "DATA_MESSAGE", "logEvents": [event]}).encode())


@pytest.mark.parametrize("on_error, status", [("skip", 0), ("fail", 1)])
def test_damage_partway_through_a_file_is_a_bad_record_and_the_next_file_is_read(tmp_path, on_error, status):
    """A payload that breaks off after a good one: the good one is kept, the rest of the file is
    one bad record for the policy, the run ends with its counts (it once ended with exit 2)."""
    damaged, good = tmp_path / "damaged.gz", tmp_path / "good.gz"
    damaged.write_bytes(_payload(1) + gzip.compress(b'{"logEvents": [{"id"') + _payload(2))
    good.write_bytes(_payload(3))
    result = vpcflow("cat", damaged, good, "--on-error", on_error, "--output", "csv")
    assert result.returncode == status, result.stderr
    assert "10.0.0.1" in result.stdout and ("10.0.0.3" in result.stdout) == (on_error == "skip")
    assert f"error: {damaged}: subscription payload is not valid JSON" in result.stderr
    assert "the rest of this input cannot be read" in result.stderr
    files = 2 if on_error == "skip" else 1
    assert f"{1 + (on_error == 'skip')} good records, 1 bad records in {files} files" in result.stderr


def test_cat_reads_standard_input(tmp_path):
    data = _payload(1) + _payload(2)
    result = subprocess.run(
        [sys.executable, "-m", "vpcflow.cli", "cat", "-", "--output", "csv"], input=data, capture_output=True
    )
    assert result.returncode == 0, result.stderr
    assert b"10.0.0.1" in result.stdout and b"10.0.0.2" in result.stdout
    assert b"2 good records, 0 bad records in 1 files" in result.stderr
