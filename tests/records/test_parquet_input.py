"""Parquet input: streamed a row group (or a batch) at a time with bounded memory, in order, and
checked as text is: '-' is null, values AWS never writes are bad records named by row."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vpcflow.errors import RecordError
from vpcflow.records import pipeline
from vpcflow.records.badrecords import Quarantine, ReadStats
from vpcflow.records.formats import DEFAULT_FORMAT, LogFormat
from vpcflow.records.parquet_codec import BATCH_ROWS, aws_schema
from vpcflow.records.reader import read_batches, read_many, read_table

FMT = LogFormat.parse(DEFAULT_FORMAT)


def flow_records(n: int, seed: int = 0) -> pa.Table:
    """`n` records of AWS's default format in the catalog's types, built a column at a time."""
    rng = np.random.default_rng(seed)

    def pick(values: list[str]) -> pa.Array:
        return pa.array(values).take(pa.array(rng.integers(0, len(values), n)))

    def ints(low: int, high: int, dtype) -> pa.Array:
        return pa.array(rng.integers(low, high, n)).cast(dtype)

    addresses = [f"10.{i // 250}.{i % 250}.{rng.integers(1, 255)}" for i in range(5000)]
    columns = {
        "version": pa.array(np.full(n, 2, dtype=np.int32)),
        "account_id": pick(["123456789012", "210987654321"]),
        "interface_id": pick([f"eni-{i:017x}" for i in range(300)]),
        "srcaddr": pick(addresses),
        "dstaddr": pick(addresses),
        "srcport": ints(0, 65536, pa.int32()),
        "dstport": ints(0, 65536, pa.int32()),
        "protocol": pick(["6", "17"]).cast(pa.int64()),
        "packets": ints(1, 1000, pa.int64()),
        "bytes": ints(40, 1_000_000, pa.int64()),
        "start": ints(1_764_000_000, 1_764_000_600, pa.int64()),
        "end": ints(1_764_000_600, 1_764_001_200, pa.int64()),
        "action": pick(["ACCEPT", "REJECT"]),
        "log_status": pick(["OK"]),
    }
    return pa.table(columns, schema=FMT.schema)


def write_aws_parquet(table: pa.Table, path, row_group_rows: int, compression: str = "gzip") -> None:
    """With AWS's physical types (and its gzip), in row groups of `row_group_rows`."""
    pq.write_table(table.cast(aws_schema(FMT)), path, compression=compression, row_group_size=row_group_rows)


# The child reads with small limits, so that files a test can write are many times bigger than what
# may be held: a few row groups read ahead (IN_FLIGHT_BYTES), and row groups over EAGER_GROUP_BYTES
# read a batch at a time. Reading a whole file at once would grow with the file.
PEAK_RSS = textwrap.dedent(
    """
    import resource, sys
    from vpcflow.records import pipeline
    from vpcflow.records.reader import read_batches
    pipeline.IN_FLIGHT_BYTES = 32 << 20
    pipeline.EAGER_GROUP_BYTES = 16 << 20
    rows = sum(batch.num_rows for batch in read_batches(sys.argv[1]))
    print(rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    """
)


def peak_rss_mb(path) -> tuple[int, int]:
    """(rows read, peak RSS in MB) of a fresh process reading `path`."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, str(path)], capture_output=True, text=True, check=True
    )
    rows, peak = done.stdout.split()
    return int(rows), int(peak)


@pytest.mark.parametrize(
    "row_group_rows",
    [50_000, None],  # ~7 MB row groups, read on the pool; one row group of the whole file (~70-280 MB)
    ids=["many-row-groups", "one-huge-row-group"],
)
def test_memory_stays_flat_for_a_4x_bigger_parquet_file(tmp_path, row_group_rows):
    small, big = tmp_path / "small.parquet", tmp_path / "big.parquet"
    base = flow_records(500_000)
    write_aws_parquet(base, small, row_group_rows or len(base), "snappy")  # gzip: 10x slower to write
    whole = pa.concat_tables([base] * 4)
    write_aws_parquet(whole, big, row_group_rows or len(whole), "snappy")
    decoded_growth_mb = (whole.nbytes - base.nbytes) >> 20  # ~200 MB: what reading whole files adds
    del base, whole
    assert pq.ParquetFile(big).metadata.num_row_groups == (40 if row_group_rows else 1)
    rows_small, peak_small = peak_rss_mb(small)
    rows_big, peak_big = peak_rss_mb(big)
    assert (rows_small, rows_big) == (500_000, 2_000_000)
    # Reading each file whole (the old pipeline) grew the peak by more than the decoded growth
    # (+290-310 MB measured, both cases); bounded reading keeps it within noise (+0 measured).
    assert peak_big - peak_small < min(48, decoded_growth_mb // 4), (peak_small, peak_big, decoded_growth_mb)


@pytest.mark.parametrize("eager_bytes", [None, 0], ids=["on-the-pool", "as-delivered"])
def test_row_groups_come_in_order_across_files_and_streams(tmp_path, monkeypatch, eager_bytes):
    if eager_bytes is not None:
        monkeypatch.setattr(pipeline, "EAGER_GROUP_BYTES", eager_bytes)
    monkeypatch.setattr(pipeline, "IN_FLIGHT_BYTES", 200_000, raising=False)  # ~2 row groups: others wait
    tables = [flow_records(rows, seed) for seed, rows in enumerate([7_000, 300_000, 5_500])]
    paths = []
    for i, table in enumerate(tables):
        paths.append(tmp_path / f"{i}.parquet")
        write_aws_parquet(table, paths[-1], 1_000 if i != 1 else len(table))
    # A path, an open file (its descriptor) and bytes in memory; read_many closes each stream as
    # soon as its jobs are made, before they run.
    sources = [str(paths[0]), open(paths[1], "rb"), io.BytesIO(paths[2].read_bytes())]  # noqa: SIM115
    stats = ReadStats()
    got: dict[str, list[pa.RecordBatch]] = {}
    order = []
    for flow, batch in read_many(sources, stats=stats):
        assert batch.num_rows <= BATCH_ROWS
        got.setdefault(flow.name, []).append(batch)
        order.append(flow.name)
    assert list(dict.fromkeys(order)) == list(got) and len(got) == 3  # each file's batches together
    for table, batches in zip(tables, got.values(), strict=True):
        assert pa.Table.from_batches(batches).equals(table)
    assert len(got[str(paths[1])]) == 3  # its one row group of 300,000 rows came in batches
    assert (stats.good, stats.bad, stats.files) == (312_500, 0, 3)


def text_of(rows: list[list[str]], fmt: LogFormat) -> bytes:
    return ("\n".join([fmt.header, *(" ".join(row) for row in rows)]) + "\n").encode()


V10 = LogFormat.parse(DEFAULT_FORMAT + " ${traffic-path} ${encryption-status}")
GOOD = ["2", "123456789012", "eni-0a1b2c3d4e5f60718", "10.0.1.5", "10.0.2.9", "443", "49152", "6", "10", "8400",
        "1764000000", "1764000060", "ACCEPT", "OK", "1", "0"]  # fmt: skip
# (field, value) of rows with a value AWS never writes, with good rows around them.
BAD_VALUES = [
    ("action", "ALLOW"),
    ("log-status", "FINE"),
    ("packets", "-3"),
    ("srcport", "99999999999"),  # a writer that is not AWS stored ports as int64
    ("traffic-path", "9"),
    ("encryption-status", "7"),
    ("encryption-status", "x"),  # AWS stores it as a string
]


def mixed_rows() -> list[list[str]]:
    rows = []
    for i, (token, value) in enumerate(BAD_VALUES):
        good = [*GOOD[:8], str(i), *GOOD[9:]]
        bad = list(good)
        bad[V10.tokens.index(token)] = value
        rows += [good, bad]
    rows.append([*GOOD[:2], "-", "-", "-", "-", "-", "-", "-", "-", *GOOD[10:12], "-", "NODATA", "-", "-"])
    return rows


def parquet_of(rows: list[list[str]], path, row_group_rows: int = 4) -> None:
    """The rows as Parquet with AWS's types ('-' stored as null), but srcport as int64."""
    columns = {}
    for position, f in enumerate(V10.fields):
        values = [None if row[position] == "-" else row[position] for row in rows]
        if f.parquet_type == "STRING":
            columns[f.column] = pa.array(values, pa.string())
        else:
            kind = pa.int64() if f.token in ("srcport", "packets") else pa.int32()
            columns[f.column] = pa.array([None if v is None else int(v) for v in values], kind)
    pq.write_table(pa.table(columns), path, compression="gzip", row_group_size=row_group_rows)


def test_values_aws_never_writes_are_bad_records_as_in_text(tmp_path):
    rows = mixed_rows()
    text, parquet = tmp_path / "x.log", tmp_path / "x.parquet"
    text.write_bytes(text_of(rows, V10))
    parquet_of(rows, parquet)  # row groups of 4 rows: bad rows in several groups and batches
    from_text, from_parquet = ReadStats(), ReadStats()
    want = read_table(text, on_error="skip", stats=from_text)
    got = read_table(parquet, on_error="skip", stats=from_parquet)
    assert got.equals(want)  # the good rows of each batch are kept, with '-' as null
    assert got.num_rows == len(BAD_VALUES) + 1
    assert (from_parquet.good, from_parquet.bad) == (from_text.good, from_text.bad)
    # Each row is reported as the text reader reports it (read alone: its message for a negative
    # number depends on the block's other lines); a Parquet row's "line" is its row number.
    want_bad = []
    for number, row in enumerate(rows, 1):
        alone = ReadStats()
        text.write_bytes(text_of([row], V10))
        read_table(text, on_error="skip", stats=alone)
        want_bad += [(number, b.field, b.reason) for b in alone.errors]
    assert [(b.line, b.field, b.reason) for b in from_parquet.errors] == want_bad
    assert [b.field for b in from_parquet.errors] == [token for token, _ in BAD_VALUES]
    assert all(b.source == str(parquet) for b in from_parquet.errors)


def test_dash_in_a_string_column_is_null(tmp_path):
    table = flow_records(10)
    dashed = table.set_column(12, "action", pa.array(["-"] * 10)).set_column(
        3, "srcaddr", pa.array(["-"] * 10)
    )
    nulls = table.set_column(12, "action", pa.nulls(10, pa.string())).set_column(
        3, "srcaddr", pa.nulls(10, pa.string())
    )
    write_aws_parquet(dashed, tmp_path / "x.parquet", 4)
    got = read_table(tmp_path / "x.parquet")
    assert got.equals(nulls)
    assert got.column("action").null_count == 10


def test_dash_is_null_whatever_string_type_a_writer_chose(tmp_path):
    table = pa.table(
        {
            "action": pa.array(["-", "ACCEPT", "BOGUS"]).dictionary_encode(),  # read back as written
            "srcaddr": pa.array(["-", "10.0.0.1", "10.0.0.2"], pa.large_string()),
        }
    )
    pq.write_table(table, tmp_path / "x.parquet")
    stats = ReadStats()
    got = read_table(tmp_path / "x.parquet", on_error="skip", stats=stats)
    assert got.to_pylist() == [{"action": None, "srcaddr": None}, {"action": "ACCEPT", "srcaddr": "10.0.0.1"}]
    assert [(b.line, b.field) for b in stats.errors] == [(3, "action")]


def test_on_error_fail_stops_at_the_bad_row_after_the_good_rows_before_it(tmp_path):
    rows = mixed_rows()
    parquet_of(rows, tmp_path / "x.parquet", row_group_rows=len(rows))
    read = []
    with pytest.raises(RecordError) as caught:
        for batch in read_batches(tmp_path / "x.parquet"):
            read += batch.to_pylist()
    assert str(caught.value).startswith(f"{tmp_path / 'x.parquet'}:2: field 'action': unknown value 'ALLOW'")
    assert [row["packets"] for row in read] == [0]  # row 1, before it, and nothing after it


def test_quarantine_keeps_each_bad_row_as_a_json_line(tmp_path):
    rows = mixed_rows()
    parquet_of(rows, tmp_path / "x.parquet")
    quarantine = Quarantine(tmp_path / "q")
    stats = ReadStats()
    got = read_table(tmp_path / "x.parquet", on_error="quarantine", quarantine=quarantine, stats=stats)
    quarantine.close()
    assert got.num_rows == len(rows) - len(BAD_VALUES)
    (raw,) = (tmp_path / "q").glob("x.parquet*.bad")  # the bad rows, as stored
    (index,) = (tmp_path / "q").glob("x.parquet*.bad.jsonl")  # where each came from
    stored = [json.loads(line) for line in raw.read_text().splitlines()]
    origins = [json.loads(line) for line in index.read_text().splitlines()]
    assert [row["action"] for row in stored[:2]] == ["ALLOW", "ACCEPT"]
    assert stored[1]["log_status"] == "FINE" and stored[5]["encryption_status"] == "7"
    assert stored[3]["srcport"] == 99999999999  # as stored, not as it could be read
    assert [o["line"] for o in origins] == [2 * i + 2 for i in range(len(BAD_VALUES))]
    assert [o["field"] for o in origins] == [token for token, _ in BAD_VALUES]
    assert stats.bad == len(BAD_VALUES)


def test_strings_with_bytes_aws_never_writes_are_bad_records(tmp_path):
    table = flow_records(5)
    values = table.column("interface_id").to_pylist()
    values[1], values[3] = "eni-\u00e9t\u00e9", "eni-1 2"  # non-ASCII; a blank inside a field
    write_aws_parquet(table.set_column(2, "interface_id", pa.array(values)), tmp_path / "x.parquet", 4)
    stats = ReadStats()
    got = read_table(tmp_path / "x.parquet", on_error="skip", stats=stats)
    assert got.num_rows == 3 and stats.bad == 2
    assert [(b.line, b.field) for b in stats.errors] == [(2, "interface-id"), (4, "interface-id")]
    assert all("bytes AWS never writes" in b.reason for b in stats.errors)


def test_a_row_group_that_does_not_decode_is_one_bad_record_and_the_others_are_read(tmp_path):
    table = flow_records(3000)
    path = tmp_path / "x.parquet"
    write_aws_parquet(table, path, 1000)
    meta = pq.ParquetFile(path).metadata.row_group(1)
    column = meta.column(3)  # srcaddr of the second row group: its data pages overwritten
    start = column.data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 20 : start + column.total_compressed_size - 20] = b"\xff" * (column.total_compressed_size - 40)
    path.write_bytes(bytes(data))
    stats = ReadStats()
    got = read_table(path, on_error="skip", stats=stats)
    assert got.num_rows == 2000 and stats.bad == 1
    assert got.equals(pa.concat_tables([table.slice(0, 1000), table.slice(2000)]).combine_chunks())
    assert "damaged Parquet data" in stats.errors[0].reason
