"""Bad input: each kind gets a clear error naming file, line and field; good records are never lost."""

import gzip
import json

import pytest

from vpcflow.errors import InputError, RecordError
from vpcflow.records.badrecords import BadRecord, Quarantine, ReadStats, full_path
from vpcflow.records.reader import read_table

HEADER = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
GOOD = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"

# (bad line, the line it is on, the field named, words in the message)
BAD_RECORDS = [
    ("2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 ACCEPT OK", "log-status", "expected 14 fields, found 13: the line ends before"),
    ("2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK extra", "log-status", "found 15: the line goes on after"),
    ("2 123456789010 eni-1 172.31.16.139 172.31.16.21 http 22 6 20 4249 1418530010 1418530070 ACCEPT OK", "srcport", "whole number, found 'http'"),
    ("2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4.5 1418530010 1418530070 ACCEPT OK", "bytes", "found '4.5'"),
    ("2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ALLOW OK", "action", "unknown value 'ALLOW'"),
    ("2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT FINE", "log-status", "unknown value 'FINE'"),
    ("2 123456789010 eni-1 172.31.16.139 172.31.16.21 99999999999 22 6 20 4249 1418530010 1418530070 ACCEPT OK", "srcport", "too large"),
    ("2 123456789010 eni-1 172.31.16.139 172.31.16.21 -5 22 6 20 4249 1418530010 1418530070 ACCEPT OK", "srcport", "negative"),
    ("2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\x00\x01", "log-status", "byte 0x00: bytes AWS never writes"),
    ("2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK \xe9t\xe9", "log-status", "byte 0xe9: bytes AWS never writes"),
]


def _file(tmp_path, lines, name="f.log", gz=False):
    data = ("\n".join(lines) + "\n").encode("latin-1")
    path = tmp_path / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("bad, field, words", BAD_RECORDS, ids=[b[2] for b in BAD_RECORDS])
def test_bad_record_is_named_and_good_ones_kept(tmp_path, bad, field, words, gz):
    path = _file(tmp_path, [HEADER, GOOD, bad, GOOD], gz=gz)
    stats = ReadStats()
    table = read_table(path, on_error="skip", stats=stats)
    assert table.num_rows == 2 and stats.good == 2 and stats.bad == 1
    error = stats.errors[0]
    assert error.line == 3 and error.field == field
    message = error.message()
    assert message.startswith(f"{path}:3: ") and words in message
    if field:
        assert f"field {field!r}" in message


@pytest.mark.parametrize("bad, field, words", BAD_RECORDS[:4], ids=[b[2] for b in BAD_RECORDS[:4]])
def test_fail_stops_at_the_first_bad_record_after_the_good_ones(tmp_path, bad, field, words):
    path = _file(tmp_path, [HEADER, GOOD, GOOD, bad, GOOD])
    stats = ReadStats()
    with pytest.raises(RecordError) as caught:
        read_table(path, stats=stats)
    assert caught.value.line == 4 and words in str(caught.value)
    assert stats.good == 2


def test_quarantine_keeps_bad_lines_untouched_with_their_origin(tmp_path):
    bad = BAD_RECORDS[8][0]
    path = _file(tmp_path, [HEADER, GOOD, bad, GOOD])
    table = read_table(path, on_error="quarantine", quarantine_dir=tmp_path / "q")
    assert table.num_rows == 2
    kept, origins = Quarantine(tmp_path / "q").paths(str(path))
    assert kept.parent == tmp_path / "q" and kept.name.startswith("f.log.") and kept.name.endswith(".bad")
    assert kept.read_bytes() == bad.encode("latin-1") + b"\n"
    origin = json.loads(origins.read_text())
    assert origin["line"] == 3 and origin["source"] == str(path) and origin["whole_file"] is False


def test_quarantine_files_are_one_pair_per_input_path_started_afresh_each_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    q = Quarantine(tmp_path / "q")
    a, b = q.paths("a/x.log"), q.paths("b/x.log")
    assert a != b and q.paths("./a/x.log") == a == q.paths(str(tmp_path / "a" / "x.log"))  # one input, one name
    assert full_path("s3://bucket/a/x.log") == "s3://bucket/a/x.log"  # a URL is not made a local path
    for _ in range(2):  # the second run replaces the first's files
        q = Quarantine(tmp_path / "q")
        q.put(BadRecord("a/x.log", 2, "srcport", "expected a whole number", b"line two\n"))
        q.put(BadRecord("b/x.log", 5, None, "expected 14 fields", b"line five"))
        q.put(BadRecord("./a/x.log", 7, None, "expected 14 fields", b"line seven"))
        q.close()
        assert a[0].read_bytes() == b"line two\nline seven\n" and b[0].read_bytes() == b"line five\n"
        origins = [json.loads(line) for line in a[1].read_text().splitlines()]
        assert [o["line"] for o in origins] == [2, 7]  # not appended to the earlier run's
        assert {o["source"] for o in origins} == {str(tmp_path / "a" / "x.log")}
    q = Quarantine(tmp_path / "q")
    q.start("a/x.log")  # a clean re-read leaves no stale files
    assert not a[0].exists() and not a[1].exists() and b[0].exists()


def test_quarantine_keeps_a_whole_rejected_file_as_it_is(tmp_path):
    path = tmp_path / "x.log.gz"
    path.write_bytes(gzip.compress(b""))
    q = Quarantine(tmp_path / "q")
    q.put_file(BadRecord(str(path), None, None, "empty file", b""))
    q.close()
    kept, origins = q.paths(str(path))
    assert kept.read_bytes() == path.read_bytes() and q.written == [kept]
    assert json.loads(origins.read_text()) == {
        "source": str(path), "line": None, "field": None, "error": "empty file", "whole_file": True
    }


def test_truncated_gzip_keeps_every_complete_line(tmp_path):
    lines = [HEADER] + [GOOD] * 20000
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.log.gz"
    path.write_bytes(whole[: len(whole) // 2])
    stats = ReadStats()
    table = read_table(path, on_error="skip", stats=stats)
    assert stats.bad == 1 and "gzip data ends early" in stats.errors[0].reason
    assert 0 < table.num_rows < 20000 and table.num_rows == stats.good
    assert set(table.column("bytes").to_pylist()) == {4249}
    # The field the line was cut in: the one its last word would have been.
    cut = stats.errors[0]
    assert cut.field == HEADER.split()[len(cut.text.split(b" ")) - 1], (cut.field, cut.text)


def test_read_many_counts_and_quarantines_a_file_it_cannot_read(tmp_path):
    from vpcflow.records.badrecords import Quarantine
    from vpcflow.records.reader import read_many

    good, binary = _file(tmp_path, [HEADER, GOOD]), tmp_path / "x.bin"
    binary.write_bytes(b"\x00\x01\x02\x03binary\xff\xfe" * 100)
    stats, quarantine = ReadStats(), Quarantine(tmp_path / "q")
    rows = sum(b.num_rows for _, b in read_many([binary, good], on_error="quarantine", stats=stats, quarantine=quarantine))
    quarantine.close()
    assert rows == 1 and stats.files == 2 and stats.bad == 1
    error = stats.errors[0]
    assert (error.source, error.line) == (str(binary), 1) and error.reason.startswith("binary data")
    assert error.message().startswith(f"{binary}:1: field 'version': binary data")  # named once
    kept, origin = quarantine.paths(str(binary))
    assert kept.read_bytes() == binary.read_bytes() and '"whole_file": true' in origin.read_text()


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty file"),
        (gzip.compress(b""), "empty file"),
        (b"\x00\x01\x02\x03binary\xff\xfe" * 100, "binary data"),
        (b"version account-id interfce-id srcaddr\n2 1 eni-1 10.0.0.1\n", "unknown field 'interfce-id'; did you mean 'interface-id'"),
        (b"2 123 eni-1 10.0.0.1 10.0.0.2 1 2 6\n", "no header line, and the records have 8 fields"),
    ],
    ids=["empty", "empty gzip", "binary", "unknown header field", "missing header"],
)
def test_unreadable_files_say_why(tmp_path, content, words):
    path = tmp_path / "x.log"
    path.write_bytes(content)
    with pytest.raises(InputError, match=words):
        read_table(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "nope.log.gz")


def test_header_only_file_has_no_records(tmp_path):
    assert read_table(_file(tmp_path, [HEADER])).num_rows == 0


def test_line_numbers_count_blank_lines_and_cross_blocks(tmp_path, monkeypatch):
    from vpcflow.records import reader

    monkeypatch.setattr(reader, "BLOCK_BYTES", 4096)
    lines = [HEADER] + [GOOD] * 500 + [""] + [GOOD] * 300 + ["garbage line"] + [GOOD] * 10
    stats = ReadStats()
    table = read_table(_file(tmp_path, lines, gz=True), on_error="skip", stats=stats)
    assert table.num_rows == 810 and stats.errors[0].line == 803


@pytest.mark.parametrize("long", [b"x" * (300 << 10), b"a " * (512 << 10)], ids=["one-word", "many-words"])
def test_a_line_longer_than_any_record_is_one_bad_line(tmp_path, long):
    """pyarrow fails on a line longer than its block and holds a value for every word of it: such a
    line is set aside first (a 128 MB line once ended the read with a traceback)."""
    path = tmp_path / "long.log.gz"
    path.write_bytes(gzip.compress(("\n".join([HEADER] + [GOOD] * 100) + "\n").encode() + long + b"\n" + (GOOD + "\n").encode() * 100))
    stats = ReadStats()
    table = read_table(path, on_error="skip", stats=stats)
    assert table.num_rows == 200 and stats.bad == 1
    bad = stats.errors[0]
    assert bad.line == 102 and bad.field is not None and "longer than any flow log record" in bad.reason


@pytest.mark.parametrize("on_error", ["skip", "fail"])
def test_read_many_goes_on_after_an_input_damaged_partway(tmp_path, on_error):
    """As ingest reads: the damaged input's records before the damage, one bad record in their
    order, then the next input (under fail: the records before it, then the stop)."""
    import json

    from vpcflow.errors import RecordError
    from vpcflow.records.reader import read_many

    def payload(n):
        event = {"id": str(n), "timestamp": 0, "message": GOOD.replace("172.31.16.139", f"10.0.0.{n}")}
        return gzip.compress(json.dumps({"messageType": "DATA_MESSAGE", "logEvents": [event]}).encode())

    damaged, good = tmp_path / "damaged.gz", tmp_path / "good.gz"
    damaged.write_bytes(payload(1) + gzip.compress(b'{"logEvents": [{"id"') + payload(2))
    good.write_bytes(payload(3))
    stats, seen = ReadStats(), []
    try:
        for _, batch in read_many([damaged, good], on_error=on_error, stats=stats):
            seen += batch.column("srcaddr").to_pylist()
    except RecordError as exc:
        assert on_error == "fail" and "the rest of this input cannot be read" in str(exc)
    assert seen == (["10.0.0.1", "10.0.0.3"] if on_error == "skip" else ["10.0.0.1"])
    assert stats.bad == 1 and stats.errors[0].source == str(damaged)
