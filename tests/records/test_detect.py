"""What kind of text a file is, decided from its first lines, not its first line alone: a few junk
lines or a run of binary bytes before the records cost those lines only, never the file's good
records; a file with no line of flow log text is one clear error naming where it went wrong."""

import random

import pytest

from vpcflow.errors import InputError
from vpcflow.records.badrecords import ReadStats
from vpcflow.records.detect import Kind
from vpcflow.records.reader import open_flow_log, read_table

HEADER = b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
GOOD = b"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
EXPORT = b"2019-09-17T21:45:00.000Z " + GOOD


def _read(path, **options):
    stats = ReadStats()
    table = read_table(path, on_error="skip", stats=stats, **options)
    return table.num_rows, stats


def test_a_run_of_binary_bytes_after_the_header_costs_only_its_lines(tmp_path):
    junk = bytes(random.Random(7).randrange(256) for _ in range(1000)).replace(b"\n", b"")
    path = tmp_path / "x.log"
    path.write_bytes(HEADER + b"\n" + junk + b"\n" + (GOOD + b"\n") * 100)
    rows, stats = _read(path)
    assert open_flow_log(path).kind is Kind.text
    assert rows == 100 and stats.bad == 1 and stats.errors[0].line == 2


def test_junk_lines_before_headerless_records_cost_only_themselves(tmp_path):
    path = tmp_path / "x.log"
    path.write_bytes(b"garbage 1 2\n" * 5 + (GOOD + b"\n") * 100)
    rows, stats = _read(path)
    assert open_flow_log(path).kind is Kind.records
    assert rows == 100 and stats.bad == 5
    assert [e.line for e in stats.errors[:5]] == [1, 2, 3, 4, 5]
    assert stats.errors[0].field == "srcaddr"  # 3 fields: the line ends before the fourth


def test_a_junk_first_line_does_not_hide_a_cloudwatch_export(tmp_path):
    path = tmp_path / "export.txt"
    path.write_bytes(b"junk\n" + (EXPORT + b"\n") * 2)
    rows, stats = _read(path)
    assert open_flow_log(path).kind is Kind.cloudwatch_export
    assert rows == 2 and stats.bad == 1 and stats.errors[0].line == 1


def test_more_records_than_export_lines_make_headerless_records(tmp_path):
    path = tmp_path / "x.log"
    path.write_bytes(EXPORT + b"\n" + (GOOD + b"\n") * 3)
    rows, stats = _read(path)
    assert open_flow_log(path).kind is Kind.records and rows == 3 and stats.bad == 1


def test_a_binary_file_is_named_at_its_first_binary_byte(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"2 123456789010 \x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(InputError, match="binary data") as caught:
        read_table(path)
    assert (caught.value.line, caught.value.field) == (1, "interface-id")
    assert str(caught.value).startswith(f"{path}:1: field 'interface-id': binary data")


def test_records_of_another_format_name_the_field_they_stop_at(tmp_path):
    path = tmp_path / "x.log"
    path.write_bytes(b"1 2 3 4 5\n" * 3)
    with pytest.raises(InputError, match="no header line, and the records have 5 fields") as caught:
        read_table(path)
    assert (caught.value.line, caught.value.field) == (1, "srcport")


def test_a_header_with_a_misspelt_field_names_it(tmp_path):
    path = tmp_path / "x.log"
    path.write_bytes(HEADER.replace(b"log-status", b"log-stats") + b"\n" + GOOD + b"\n")
    with pytest.raises(InputError, match="did you mean 'log-status'") as caught:
        read_table(path)
    assert (caught.value.line, caught.value.field) == (1, "log-stats")


@pytest.mark.parametrize("many", [False, True], ids=["careful-path", "tokenizer"])
def test_an_export_line_without_its_timestamp_is_a_bad_line(tmp_path, many):
    """The tokenizer reads the timestamp as text and gives the block up when one does not match;
    the careful path then names the line (a block of 1 MiB or more takes the tokenizer)."""
    n = 12000 if many else 3
    lines = [EXPORT] * n
    lines[1] = b"not-a-time " + GOOD
    path = tmp_path / "export.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    rows, stats = _read(path)
    assert rows == n - 1 and stats.bad == 1
    assert (stats.errors[0].line, stats.errors[0].field) == (2, "event-timestamp")
    assert "expected an ISO-8601 timestamp, found 'not-a-time'" in stats.errors[0].reason


def test_an_export_timestamp_with_a_space_is_a_bad_line(tmp_path):
    path = tmp_path / "export.txt"
    path.write_bytes(EXPORT + b"\n" + b"2019-09-17 21:45:00 " + GOOD[:-3] + b"\n" + EXPORT + b"\n")
    rows, stats = _read(path)
    assert rows == 2 and [(e.line, e.field) for e in stats.errors] == [(2, "event-timestamp")]


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("first", [b"x" * (70 << 10), b"2019-09-17T21:45:00.000Z " + b"y" * (70 << 10)])
def test_a_first_line_longer_than_the_head_does_not_cost_the_file(tmp_path, gz, first):
    """The head grows (to 1 MiB) until it holds whole lines to decide on, so a long junk first
    line is one bad line, not a file with "no header line"."""
    import gzip

    exporting = first.startswith(b"2019")
    body = first + b"\n" + ((EXPORT if exporting else GOOD) + b"\n") * 100
    path = tmp_path / ("x.log.gz" if gz else "x.log")
    path.write_bytes(gzip.compress(body) if gz else body)
    rows, stats = _read(path)
    assert open_flow_log(path).kind is (Kind.cloudwatch_export if exporting else Kind.records)
    assert rows == 100 and stats.bad == 1 and stats.errors[0].line == 1


def test_a_junk_line_before_the_header_costs_that_line_and_the_header_only(tmp_path):
    """The header's format still reads the records after it: the junk line and the header line
    itself are bad lines (the header is where a record should be)."""
    from pathlib import Path

    v5 = Path(__file__).parents[2] / "examples" / "aws-docs" / "service-traffic-v5.log"
    path = tmp_path / "x.log"
    path.write_bytes(b"junk\n" + v5.read_bytes())
    rows, stats = _read(path)
    assert rows == read_table(v5).num_rows == 2
    assert stats.bad == 2 and [e.line for e in stats.errors] == [1, 2]
