"""Gzip files built from independently deflated blocks: one valid member, any gunzip reads it, and
the bytes depend on the records only (not on threads)."""

import gzip
import io
import shutil
import subprocess
import zlib

import pyarrow as pa
import pytest

from vpcflow.records import writer
from vpcflow.records.formats import LogFormat
from vpcflow.records.gzip_blocks import GzipBlockWriter, deflate_block
from vpcflow.records.reader import read_table
from vpcflow.records.writer import record_lines, write_text

FMT = LogFormat.default()
PIECES = [b"", b"a", b"version account-id\n", b"x" * 100_000, bytes(range(256)) * 40]


def _members(data: bytes) -> tuple[bytes, int]:
    """(content of the first gzip member, bytes left after it)."""
    inflater = zlib.decompressobj(31)
    content = inflater.decompress(data) + inflater.flush()
    assert inflater.eof
    return content, len(inflater.unused_data)


def _table(n: int) -> pa.Table:
    return pa.table(
        {
            "version": pa.array([2] * n, pa.int32()),
            "account_id": ["123456789010"] * n,
            "interface_id": [f"eni-{i % 7:017x}" for i in range(n)],
            "srcaddr": [f"10.0.{i % 3}.{i % 250}" for i in range(n)],
            "dstaddr": [f"52.95.{i % 5}.{i % 200}" for i in range(n)],
            "srcport": pa.array([40000 + i for i in range(n)], pa.int32()),
            "dstport": pa.array([443] * n, pa.int32()),
            "protocol": pa.array([6] * n, pa.int64()),
            "packets": pa.array([i % 90 + 1 for i in range(n)], pa.int64()),
            "bytes": pa.array([(i % 90 + 1) * 700 for i in range(n)], pa.int64()),
            "start": pa.array([1795514400 + i // 10 for i in range(n)], pa.int64()),
            "end": pa.array([1795514459 + i // 10 for i in range(n)], pa.int64()),
            "action": ["ACCEPT" if i % 4 else "REJECT" for i in range(n)],
            "log_status": ["OK"] * n,
        },
        schema=FMT.schema,
    )


def test_blocks_make_one_member_that_every_inflater_reads():
    buf = io.BytesIO()
    with GzipBlockWriter(buf) as out:
        for piece in PIECES:
            out.write_block(deflate_block(piece))
    data = buf.getvalue()
    content, rest = _members(data)
    assert content == b"".join(PIECES) and rest == 0
    assert gzip.decompress(data) == content
    if shutil.which("gzip"):  # GNU gzip checks the CRC and the length too
        assert subprocess.run(["gzip", "-dc"], input=data, capture_output=True, check=True).stdout == content


def test_an_interrupted_file_has_no_trailer():
    buf = io.BytesIO()
    with pytest.raises(RuntimeError), GzipBlockWriter(buf) as out:
        out.write(b"2 123456789010 eni-1 ...\n")
        raise RuntimeError("disk full")
    with pytest.raises(EOFError):
        gzip.decompress(buf.getvalue())


def test_write_text_over_many_slices_is_the_records_text_and_deterministic(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "SLICE_ROWS", 37)  # many pool tasks, finishing in any order
    table = _table(1000)
    a, b = tmp_path / "a.log.gz", tmp_path / "b.log.gz"
    assert write_text(table, a, FMT) == 1000
    write_text(table, b, FMT)
    assert a.read_bytes() == b.read_bytes()
    content, rest = _members(a.read_bytes())
    assert rest == 0 and content == FMT.header.encode() + b"\n" + record_lines(table, FMT)
    assert read_table(a).equals(table)


def test_write_text_to_an_open_file_leaves_it_open():
    buf = io.BytesIO()
    write_text(_table(5), buf, FMT, gzip=True)
    assert not buf.closed and gzip.decompress(buf.getvalue()).count(b"\n") == 6
