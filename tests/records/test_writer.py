"""record_lines on tables of any chunk layout: the text depends on the rows only."""

import pyarrow as pa

from vpcflow.records.formats import LogFormat
from vpcflow.records.writer import record_lines

FMT = LogFormat.parse("${version} ${srcaddr} ${dstport} ${action}")
SCHEMA = pa.schema([("version", pa.int32()), ("srcaddr", pa.string()), ("dstport", pa.int32()), ("action", pa.string())])
ROWS = pa.table({"version": [2, 2], "srcaddr": ["1.2.3.4", None], "dstport": [443, None], "action": ["ACCEPT", "REJECT"]}, schema=SCHEMA)
EXPECTED = b"2 1.2.3.4 443 ACCEPT\n2 - - REJECT\n"


def test_plain_table():
    assert record_lines(ROWS, FMT) == EXPECTED


def test_empty_leading_chunk_gives_the_same_text():
    table = pa.concat_tables([ROWS.slice(0, 0), ROWS])
    assert table.column(0).num_chunks == 2
    assert record_lines(table, FMT) == EXPECTED


def test_empty_chunks_between_and_after():
    table = pa.concat_tables([ROWS.slice(0, 1), ROWS.slice(0, 0), ROWS.slice(1, 1), ROWS.slice(0, 0)])
    assert record_lines(table, FMT) == EXPECTED


def test_no_rows_is_no_text():
    assert record_lines(ROWS.slice(0, 0), FMT) == b""
