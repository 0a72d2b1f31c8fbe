"""The benchmark generator writes what AWS writes, and the committed sample set is what it says."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from bench.generate import generate, generate_examples
from bench.sample_set import EXAMPLES

from vpcflow.records.catalog import VPC_FIELDS
from vpcflow.records.formats import DEFAULT_FORMAT, TGW_DEFAULT_FORMAT, LogFormat
from vpcflow.records.reader import open_flow_log, read_many, read_table
from vpcflow.records.s3layout import find_flow_log_objects, parse_key, window_for

EVERY_VPC_FIELD = " ".join(f.format_token for f in VPC_FIELDS)
FLOW_COLUMNS = ["srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "action"]


def read_all(paths) -> pa.Table:
    return pa.Table.from_batches([batch for _, batch in read_many(paths, on_error="fail")])


def test_objects_are_in_the_s3_layout_with_a_header_and_single_spaces(tmp_path):
    paths = generate(tmp_path, records=20_000, seed=5, files=4)
    assert [p for p, _ in find_flow_log_objects(tmp_path)] == sorted(paths)
    fmt = LogFormat.parse(DEFAULT_FORMAT)
    for path in paths:
        key = parse_key(path.relative_to(tmp_path).as_posix())
        assert key is not None and key.file_format == "text"
        lines = gzip.decompress(path.read_bytes()).decode().split("\n")
        assert lines[0] == fmt.header and lines[-1] == ""
        for line in lines[1:-1]:
            fields = line.split(" ")
            assert len(fields) == len(fmt) and "" not in fields
        # every record's end time lies in the window the file name carries
        ends = read_table(path)["end"].to_pylist()
        assert {window_for(e) for e in ends} == {key.window}
    assert sum(read_table(p).num_rows for p in paths) == 20_000


def test_same_seed_same_bytes_whatever_the_threads(tmp_path):
    one = generate(tmp_path / "a", records=5_000, seed=9, files=2, threads=1)
    two = generate(tmp_path / "b", records=5_000, seed=9, files=2, threads=2)
    other = generate(tmp_path / "c", records=5_000, seed=10, files=2)
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]
    assert [p.read_bytes() for p in one] != [p.read_bytes() for p in other]


@pytest.mark.parametrize("log_format", [EVERY_VPC_FIELD, TGW_DEFAULT_FORMAT], ids=["every-vpc-field", "tgw"])
def test_every_field_has_values_the_catalog_allows(tmp_path, log_format):
    fmt = LogFormat.parse(log_format)
    table = read_all(generate(tmp_path, records=40_000, seed=2, log_format=log_format, files=2))
    assert table.num_rows == 40_000  # the reader rejects (on_error=fail) any value of the wrong type
    assert set(table["version"].to_pylist()) == {fmt.version}
    for field in fmt.fields:
        values = set(table[field.column].drop_null().to_pylist())
        if field.strict:
            assert values <= {int(v) if field.is_numeric else v for v in field.values}, field.token
        if field.token not in ("sublocation-type", "sublocation-id", "resource-id"):
            assert values, f"{field.token} is never set"


def test_nodata_records_have_no_flow_fields(tmp_path):
    table = read_all(generate(tmp_path, records=50_000, seed=4, log_format=EVERY_VPC_FIELD, files=1))
    empty = table.filter(pc.not_equal(table["log_status"], "OK"))
    assert empty.num_rows > 0
    for column in FLOW_COLUMNS + ["tcp_flags", "type", "flow_direction", "traffic_path", "pkt_srcaddr"]:
        assert empty[column].null_count == empty.num_rows, column
    assert empty["interface_id"].null_count == 0
    ok = table.filter(pc.equal(table["log_status"], "OK"))
    for column in FLOW_COLUMNS:
        assert ok[column].null_count == 0, column


def test_traffic_is_plausible(tmp_path):
    table = read_all(generate(tmp_path, records=100_000, seed=1, files=2))
    ok = table.filter(pc.equal(table["log_status"], "OK"))
    rejected = ok.filter(pc.equal(ok["action"], "REJECT"))
    assert 0.03 < rejected.num_rows / ok.num_rows < 0.15
    assert {22, 3389, 7766, 8088} <= set(rejected["dstport"].to_pylist())
    assert set(ok["protocol"].to_pylist()) == {1, 6, 17}
    assert pc.all(pc.less_equal(ok["start"], ok["end"])).as_py()
    assert pc.all(pc.less(pc.subtract(ok["end"], ok["start"]), 60)).as_py()  # one 60 s interval
    assert 100 < len(set(ok["interface_id"].to_pylist())) <= 300
    v4 = ok.filter(pc.invert(pc.match_substring(ok["srcaddr"], ":")))
    assert 0 < v4.num_rows < ok.num_rows  # some IPv6
    on_interface = pc.or_(pc.starts_with(v4["srcaddr"], "10."), pc.starts_with(v4["dstaddr"], "10."))
    assert pc.all(on_interface).as_py()  # one end is always the interface's private address


def test_duckdb_reads_the_objects_with_the_types(tmp_path):
    paths = generate(tmp_path, records=10_000, seed=3, files=2)
    con = duckdb.connect()
    columns = {"version": "INTEGER", "srcport": "INTEGER", "packets": "BIGINT", "end": "BIGINT"}
    listing = [str(p) for p in paths]
    rows, packets = con.execute(
        f"SELECT count(*), sum(packets) FROM read_csv({listing!r}, delim=' ', header=true, nullstr='-', "
        f"types={columns!r})"
    ).fetchall()[0]
    assert rows == 10_000 and packets == pc.sum(read_all(paths)["packets"]).as_py()


def test_the_committed_sample_set_is_what_the_generator_writes(tmp_path):
    written = generate_examples(tmp_path)
    committed = sorted(
        p.relative_to(EXAMPLES) for p in EXAMPLES.rglob("*") if p.is_file() and p.name != "README.md"
    )
    assert sorted(p.relative_to(tmp_path) for p in written) == committed
    for path in written:
        assert path.read_bytes() == (EXAMPLES / path.relative_to(tmp_path)).read_bytes(), path.name


def test_the_sample_set_tells_its_story():
    objects = find_flow_log_objects(EXAMPLES)
    assert len(objects) == 25 and {k.hive for _, k in objects} == {False, True}
    table = read_all([p for p, k in objects if not k.hive])
    assert 2_000 < table.num_rows < 5_000
    assert len(set(table["interface_id"].to_pylist())) == 3
    rejected = table.filter(pc.equal(table["action"], "REJECT"))
    assert {22, 3389, 7766, 8088} <= set(rejected["dstport"].to_pylist())
    assert not any(a.startswith("10.") for a in rejected["srcaddr"].to_pylist())
    assert "NODATA" in table["log_status"].to_pylist()
    (v5_path,) = [p for p, k in objects if k.hive]
    v5 = read_table(v5_path)
    assert set(v5["version"].to_pylist()) == {5} and "S3" in v5["pkt_dst_aws_service"].to_pylist()
    export = open_flow_log(EXAMPLES / "cloudwatch-export.txt")
    try:
        assert export.kind.value == "cloudwatch-export"
    finally:
        export.close()
    lines = Path(EXAMPLES / "cloudwatch-export.txt").read_text().splitlines()
    assert len(lines) == len(read_table(EXAMPLES / "cloudwatch-export.txt")) == 200
