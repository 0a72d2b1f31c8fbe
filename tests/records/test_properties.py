"""Property tests: any valid record survives a write and a read; garbage never costs a good line."""

import io

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vpcflow.records.badrecords import ReadStats
from vpcflow.records.catalog import VPC_FIELDS
from vpcflow.records.formats import LogFormat
from vpcflow.records.reader import read_table
from vpcflow.records.writer import write_text

TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-:./_"
LIMITS = {"int32": 2**31 - 1, "int64": 2**62}


def value_for(field):
    if field.strict and field.values:
        allowed = [int(v) for v in field.values] if field.is_numeric else list(field.values)
        return st.one_of(st.none(), st.sampled_from(allowed))
    if field.is_numeric:
        return st.one_of(st.none(), st.integers(0, LIMITS[field.kind]))
    text = st.text(TOKEN_CHARS, min_size=1, max_size=30).filter(lambda s: s != "-")
    return st.one_of(st.none(), text)


formats = st.lists(st.sampled_from(VPC_FIELDS), min_size=1, max_size=12, unique=True).map(
    lambda fields: LogFormat(tuple(fields))
)


@st.composite
def tables(draw):
    fmt = draw(formats)
    rows = draw(st.lists(st.tuples(*[value_for(f) for f in fmt.fields]), min_size=1, max_size=20))
    columns = {f.column: pa.array([r[i] for r in rows], f.arrow_type) for i, f in enumerate(fmt.fields)}
    return fmt, pa.table(columns)


def _io(data: bytes, name="t.log") -> io.BytesIO:
    stream = io.BytesIO(data)
    stream.name = name
    return stream


@settings(max_examples=200, deadline=None)
@given(tables())
def test_any_valid_record_written_and_read_back_is_equal(case):
    fmt, table = case
    buf = io.BytesIO()
    write_text(table, buf, fmt)
    back = read_table(_io(buf.getvalue()))
    assert back.equals(table)
    again = io.BytesIO()
    write_text(back, again, fmt)
    assert again.getvalue() == buf.getvalue()  # byte-identical


@settings(max_examples=100, deadline=None)
@given(tables())
def test_gzip_round_trip_is_byte_identical(tmp_path_factory, case):
    import gzip

    fmt, table = case
    path = tmp_path_factory.mktemp("rt") / "x.log.gz"
    write_text(table, path, fmt)
    text = gzip.decompress(path.read_bytes())
    out = path.with_name("y.log.gz")
    write_text(read_table(path), out, fmt)
    assert gzip.decompress(out.read_bytes()) == text


DEFAULT = LogFormat.default()
GOOD = [
    f"2 123456789010 eni-{i:017x} 10.0.0.{i} 10.0.1.{i} {1000 + i} 443 6 {i + 1} {100 * i} 1418530010 1418530070 ACCEPT OK"
    for i in range(40)
]
garbage = st.binary(min_size=0, max_size=120).map(lambda b: b.replace(b"\n", b" "))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(range(40)), garbage), min_size=1, max_size=60), st.booleans())
def test_garbage_never_crashes_and_never_loses_the_good_lines_around_it(lines, with_header):
    body = [GOOD[x].encode() if isinstance(x, int) else x for x in lines]
    good = [GOOD[x] for x in lines if isinstance(x, int)]
    data = b"\n".join(([DEFAULT.header.encode()] if with_header else []) + body) + b"\n"
    stats = ReadStats()
    try:
        table = read_table(_io(data), on_error="skip", stats=stats)
    except Exception as exc:  # only whole-file verdicts are allowed, and only for input without a good line
        from vpcflow.errors import InputError

        assert isinstance(exc, InputError) and not str(exc).endswith("Traceback")
        verdicts = ("binary data", "no header line", "empty file", "damaged gzip", "Parquet")
        assert any(v in str(exc) for v in verdicts), str(exc)
        # Garbage that starts with Parquet's or gzip's magic bytes is read as that kind of file.
        assert not good or data[:4] == b"PAR1" or data[:2] == b"\x1f\x8b", f"good lines lost: {exc}"
        return
    buf = io.BytesIO()
    write_text(table, buf, DEFAULT, header=False)
    read_lines = buf.getvalue().decode().splitlines()
    it = iter(read_lines)
    assert all(any(g == r for r in it) for g in good), "a good line was lost or reordered"
    assert stats.good == table.num_rows
    assert stats.good + stats.bad <= len(body) + 1
