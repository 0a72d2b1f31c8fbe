"""The reader's paths agree: a file read whole (plain, or gzip inflated whole), a small
gzip file inflated and parsed piece by piece in one task, streamed (big files, pipes), several gzip
members, or an open stream gives the same records, the same bad lines and the same line numbers. The fast path trusts a file only after checking its bytes, so input
pyarrow would read differently from AWS (tabs around numbers, `0x` hex) still takes the careful path."""

import gzip
import os
import threading

import pytest

from vpcflow.errors import RecordError
from vpcflow.records import line_blocks, pipeline, reader
from vpcflow.records.badrecords import ReadStats
from vpcflow.records.reader import read_table

HEADER = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
GOOD = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
BIG = 9223372036854775807  # int64's largest: 19 digits, still a valid `bytes`

# A bad line, the field named, words in the reason: the cases only the byte checks catch.
SUBTLE = [
    (GOOD.replace(" 20641 ", " 0x1f ", 1), "srcport", "whole number, found '0x1f'"),
    (GOOD.replace(" 20641 ", " 0X1F ", 1), "srcport", "whole number, found '0X1F'"),
    (GOOD.replace(" 20641 ", " 20641\t ", 1), "srcport", "whole number, found '20641\\t'"),
    (GOOD.replace(" ACCEPT ", " ACC\x1bEPT ", 1), "action", "byte 0x1b: bytes AWS never writes"),
    (GOOD.replace(" 20641 ", " 20641\r", 1), "srcport", "byte 0x0d: bytes AWS never writes"),
]


def _write(tmp_path, lines, how):
    data = ("\n".join(lines) + "\n").encode("latin-1")
    if how == "plain":
        path = tmp_path / "f.log"
        path.write_bytes(data)
    elif how == "members":  # several gzip members
        path = tmp_path / "f.log.gz"
        half = data.index(b"\n", len(data) // 2) + 1
        path.write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    else:
        path = tmp_path / "f.log.gz"
        path.write_bytes(gzip.compress(data))
    return path


HOWS = ["plain", "gzip", "gzip-whole", "gzip-streamed", "members", "members-whole", "open-stream"]
GZIP_FILE = {"gzip-whole": "gzip", "gzip-streamed": "gzip", "open-stream": "gzip", "members-whole": "members"}


def _read(path, how, monkeypatch, **options):
    if how in ("gzip-whole", "members-whole", "gzip-streamed"):  # a gzip file over 16 MB
        monkeypatch.setattr(reader, "SMALL_GZIP_BYTES", 0)
    if how == "gzip-streamed":  # as a file too big to hold is read
        monkeypatch.setattr(reader, "WHOLE_FILE_BYTES", 0)
    if how == "open-stream":
        with open(path, "rb") as stream:
            return read_table(stream, **options)
    return read_table(path, **options)


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("bad, field, words", SUBTLE, ids=[w for _, _, w in SUBTLE])
def test_bytes_pyarrow_reads_differently_are_bad_records_on_every_path(tmp_path, monkeypatch, how, bad, field, words):
    path = _write(tmp_path, [HEADER, GOOD, bad, GOOD], GZIP_FILE.get(how, how))
    stats = ReadStats()
    table = _read(path, how, monkeypatch, on_error="skip", stats=stats)
    assert table.num_rows == 2 and stats.good == 2 and stats.bad == 1
    error = stats.errors[0]
    assert error.line == 3 and error.field == field and words in error.reason, error.message()
    assert error.text == bad.encode("latin-1")


@pytest.mark.parametrize("how", HOWS)
def test_line_numbers_across_many_blocks_are_the_same_on_every_path(tmp_path, monkeypatch, how):
    monkeypatch.setattr(reader, "BLOCK_BYTES", 2048)
    monkeypatch.setattr(line_blocks, "PIECE_BYTES", 2048)
    lines = [HEADER] + [GOOD] * 300 + ["", "garbage"] + [GOOD] * 200 + ["2 x"] + [GOOD] * 100 + ["tail"]
    path = _write(tmp_path, lines, GZIP_FILE.get(how, how))
    stats = ReadStats()
    table = _read(path, how, monkeypatch, on_error="skip", stats=stats)
    assert table.num_rows == 600 and stats.good == 600
    assert [e.line for e in stats.errors] == [303, 504, 605]
    assert [e.text for e in stats.errors] == [b"garbage", b"2 x", b"tail"]


@pytest.mark.parametrize("how", ["plain", "gzip", "gzip-whole", "gzip-streamed"])
def test_fail_stops_at_the_first_bad_line_of_a_later_block(tmp_path, monkeypatch, how):
    monkeypatch.setattr(reader, "BLOCK_BYTES", 2048)
    monkeypatch.setattr(line_blocks, "PIECE_BYTES", 2048)
    lines = [HEADER] + [GOOD] * 250 + [GOOD.replace("ACCEPT", "ALLOW")] + [GOOD] * 10
    path = _write(tmp_path, lines, GZIP_FILE.get(how, how))
    stats = ReadStats()
    with pytest.raises(RecordError) as caught:
        _read(path, how, monkeypatch, stats=stats)
    assert caught.value.line == 252 and caught.value.field == "action"
    assert stats.good == 250


@pytest.mark.parametrize("how", HOWS)
def test_nineteen_digit_numbers_that_fit_int64_are_read(tmp_path, monkeypatch, how):
    lines = [HEADER, GOOD.replace(" 4249 ", f" {BIG} "), GOOD.replace(" 4249 ", f" {BIG + 1} "), GOOD]
    path = _write(tmp_path, lines, GZIP_FILE.get(how, how))
    stats = ReadStats()
    table = _read(path, how, monkeypatch, on_error="skip", stats=stats)
    assert table.column("bytes").to_pylist() == [BIG, 4249]
    assert stats.errors[0].line == 3 and "too large" in stats.errors[0].reason


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_a_named_pipe_is_streamed_once(tmp_path, monkeypatch, compress):
    """A pipe's size is unknown: it streams (never held whole), and it can be read only once."""

    def held_whole(data):
        raise AssertionError("a pipe was read whole")

    monkeypatch.setattr(reader, "_inflate_whole", held_whole)
    fifo = tmp_path / ("pipe.log.gz" if compress else "pipe.log")
    os.mkfifo(fifo)
    data = ("\n".join([HEADER] + [GOOD] * 1000) + "\n").encode()
    data = gzip.compress(data) if compress else data
    writer = threading.Thread(target=lambda: fifo.write_bytes(data))
    writer.start()
    try:
        table = read_table(fifo)
    finally:
        writer.join()
    assert table.num_rows == 1000 and set(table.column("srcport").to_pylist()) == {20641}


@pytest.mark.parametrize(
    "how, task, whole", [("gzip", 1, 0), ("members", 1, 0), ("gzip-whole", 0, 1), ("gzip-streamed", 0, 0)]
)
def test_each_gzip_path_is_the_one_its_name_says(tmp_path, monkeypatch, how, task, whole):
    """The cases above take the path they are named for: a small gzip file is one task
    (parse_gzip_file), a bigger one is inflated whole by libdeflate, the biggest stream."""
    calls = {"task": 0, "whole": 0}

    def counted(name, real):
        def call(*args):
            calls[name] += 1
            return real(*args)

        return call

    monkeypatch.setattr(pipeline, "parse_gzip_file", counted("task", pipeline.parse_gzip_file))
    monkeypatch.setattr(reader, "_inflate_whole", counted("whole", reader._inflate_whole))
    path = _write(tmp_path, [HEADER, GOOD, GOOD], GZIP_FILE.get(how, how))
    assert _read(path, how, monkeypatch).num_rows == 2
    assert calls == {"task": task, "whole": whole}


@pytest.mark.parametrize("how", ["gzip", "gzip-whole"])
def test_a_line_longer_than_a_piece_is_one_bad_record(tmp_path, monkeypatch, how):
    """A small gzip file is parsed in pieces of a reused buffer: a line longer than a piece grows
    it (the piece before is still referenced) and every line keeps its number."""
    monkeypatch.setattr(line_blocks, "PIECE_BYTES", 4096)
    long_line = "x" * 20_000
    lines = [HEADER] + [GOOD] * 100 + [long_line] + [GOOD] * 100
    path = _write(tmp_path, lines, GZIP_FILE.get(how, how))
    stats = ReadStats()
    table = _read(path, how, monkeypatch, on_error="skip", stats=stats)
    assert table.num_rows == 200 and stats.bad == 1
    assert stats.errors[0].line == 102 and stats.errors[0].text == long_line.encode()


def test_a_cut_off_small_gzip_file_keeps_its_complete_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(line_blocks, "PIECE_BYTES", 4096)
    data = ("\n".join([HEADER] + [GOOD.replace(" 20641 ", f" {i} ") for i in range(3000)]) + "\n").encode()
    whole = gzip.compress(data)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(whole[: len(whole) // 2])
    stats = ReadStats()
    table = read_table(path, on_error="skip", stats=stats)
    ports = table.column("srcport").to_pylist()
    assert ports == list(range(len(ports))) and len(ports) > 1000  # in order, none lost before the cut
    assert stats.bad == 1 and "ends early" in stats.errors[0].reason
    assert stats.errors[0].line == len(ports) + 2  # the cut-off line, after the header and the records


def test_text_too_big_to_hold_streams_however_small_the_file(tmp_path, monkeypatch):
    """A gzip file is held (whole, or as one task's batches) only when its trailer says its text
    fits: flow logs that compress very well stream. A cut-off file's trailer means nothing."""
    calls = []
    monkeypatch.setattr(reader, "TEXT_IN_MEMORY_BYTES", 1000)
    monkeypatch.setattr(pipeline, "parse_gzip_file", lambda *a: calls.append("task"))
    monkeypatch.setattr(reader, "_inflate_whole", lambda *a: calls.append("whole"))
    path = _write(tmp_path, [HEADER] + [GOOD] * 50, "gzip")  # 5 KB of text
    assert read_table(path).num_rows == 50 and calls == []
    monkeypatch.setattr(reader, "TEXT_IN_MEMORY_BYTES", 1 << 20)
    with pytest.raises(TypeError):  # the task was chosen (and the stand-in returned None)
        read_table(path)
    assert calls == ["task"]


@pytest.mark.parametrize("how", ["gzip", "gzip-whole", "gzip-streamed"])
def test_a_cut_off_gzip_file_loses_no_line_that_can_be_inflated(tmp_path, monkeypatch, how):
    """Every complete line that zlib can inflate from a cut-off file is read, on every path."""
    import zlib

    data = ("\n".join([HEADER] + [GOOD.replace(" 20641 ", f" {i} ") for i in range(40_000)]) + "\n").encode()
    whole = gzip.compress(data)
    cut = whole[: len(whole) * 2 // 3]
    path = tmp_path / "cut.log.gz"
    path.write_bytes(cut)
    available = zlib.decompressobj(31).decompress(cut)
    complete = available.count(b"\n") - 1  # the header line is not a record
    stats = ReadStats()
    table = _read(path, how, monkeypatch, on_error="skip", stats=stats)
    assert table.num_rows == complete and table.column("srcport").to_pylist() == list(range(complete))
    assert stats.bad == 1 and stats.errors[0].line == complete + 2


@pytest.mark.parametrize("how", ["gzip", "gzip-whole", "gzip-streamed", "open-stream"])
def test_damage_inside_a_gzip_file_keeps_the_lines_before_it_in_order(tmp_path, monkeypatch, how):
    """Bytes overwritten in the middle (not a cut-off): the lines before the damage are read, in
    order, then one bad record says where the text stopped; nothing raises. (Deflate may decode
    some garbage before it notices: lines copied from earlier text can follow the damage.)"""
    import random

    rng = random.Random(7)
    fields = GOOD.split(" ")
    lines = [" ".join([*fields[:5], str(i), *fields[6:9], str(rng.randrange(10**9)), *fields[10:]]) for i in range(60_000)]
    whole = bytearray(gzip.compress(("\n".join([HEADER, *lines]) + "\n").encode()))
    middle = len(whole) // 2
    whole[middle : middle + 64] = bytes(64)  # zeros over some deflate data
    path = tmp_path / "damaged.log.gz"
    path.write_bytes(bytes(whole))
    stats = ReadStats()
    table = _read(path, how, monkeypatch, on_error="skip", stats=stats)
    ports = table.column("srcport").to_pylist()
    assert 25_000 < len(ports) < 60_000 and ports[:25_000] == list(range(25_000))
    assert stats.bad >= 1 and stats.good == len(ports)  # the garbage's bad lines, then the end


@pytest.mark.parametrize("small", [True, False], ids=["one-task", "whole"])
def test_gzip_members_of_the_same_size_are_all_read(tmp_path, monkeypatch, small):
    """Two identical members (an object concatenated to itself): the trailer's size is the first
    member's too, which once let the whole-file inflater stop after one member, silently."""
    if not small:
        monkeypatch.setattr(reader, "SMALL_GZIP_BYTES", 0)
    member = gzip.compress(("\n".join([HEADER] + [GOOD] * 300) + "\n").encode())
    path = tmp_path / "twice.log.gz"
    path.write_bytes(member + gzip.compress(("\n".join([GOOD] * 300) + "\n").encode()))
    stats = ReadStats()
    assert read_table(path, stats=stats).num_rows == 600 and stats.bad == 0
    path.write_bytes(member + member)  # the header again, where a record should be: one bad line
    stats = ReadStats()
    assert read_table(path, on_error="skip", stats=stats).num_rows == 600 and stats.bad == 1


def test_concatenated_subscription_payloads_of_the_same_size_are_all_read(tmp_path):
    import json

    def payload(n):
        event = {"id": "1", "timestamp": 0, "message": GOOD.replace("172.31.16.139", f"10.0.0.{n}")}
        return gzip.compress(json.dumps({"messageType": "DATA_MESSAGE", "logEvents": [event]}).encode())

    path = tmp_path / "payloads.gz"
    path.write_bytes(payload(1) + payload(2))
    assert len(payload(1)) == len(payload(2))
    table = read_table(path)
    assert table.column("srcaddr").to_pylist() == ["10.0.0.1", "10.0.0.2"]


@pytest.mark.parametrize("small", [True, False], ids=["one-task", "streamed"])
def test_a_gzip_file_whose_only_damage_is_its_checksum_keeps_every_record(tmp_path, monkeypatch, small):
    """Every byte inflates; the trailer's CRC is wrong. The salvage pass gives all of it, then the
    error (once, the last ISA-L piece of ~400 records was lost with it)."""
    if not small:
        monkeypatch.setattr(reader, "SMALL_GZIP_BYTES", 0)
        monkeypatch.setattr(reader, "WHOLE_FILE_BYTES", 0)
    data = bytearray(gzip.compress(("\n".join([HEADER] + [GOOD] * 50000) + "\n").encode()))
    data[-8] ^= 0xFF  # the CRC-32
    path = tmp_path / "crc.log.gz"
    path.write_bytes(bytes(data))
    stats = ReadStats()
    table = read_table(path, on_error="skip", stats=stats)
    assert table.num_rows == 50000 and stats.bad == 1
    assert "check" in stats.errors[0].reason.lower() or "checksum" in stats.errors[0].reason.lower()
