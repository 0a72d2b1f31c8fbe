"""The C tokenizer: on what it accepts, exactly pyarrow's batch; on anything unusual, None."""

import gzip
import importlib.util
import io
import tempfile
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.records.test_properties import tables
from vpcflow.records import fastparse, text_codec
from vpcflow.records.formats import LogFormat
from vpcflow.records.reader import read_batches, read_table
from vpcflow.records.text_codec import TextLayout
from vpcflow.records.writer import write_text

DEFAULT = LogFormat.default()
LAYOUT = TextLayout(DEFAULT)
GOOD = b"2 123456789010 eni-0a1b 10.0.0.1 10.0.1.2 1000 443 6 10 8000 1418530010 1418530070 ACCEPT OK\n"
NULLS = b"2 123456789010 eni-0a1b - - - - - - - 1418530010 1418530070 - NODATA\n"


@lru_cache(maxsize=1)
def scalar_kernel():
    """_tokenizer.c built without SSE2 (VPC_NO_SIMD), as on a machine without it (aarch64): its
    plain loops must give the same results. Built with the compiler that built the extension."""
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    source = Path(fastparse.__file__).with_name("_tokenizer.c")
    out = Path(tempfile.mkdtemp(prefix="vpcflow-scalar-"))
    ext = Extension("_tokenizer", [str(source)], define_macros=[("VPC_NO_SIMD", "1")])
    command = build_ext(Distribution({"ext_modules": [ext]}))
    command.build_lib, command.build_temp = str(out), str(out / "tmp")
    command.ensure_finalized()
    command.run()
    path = next(out.glob("_tokenizer*"))
    spec = importlib.util.spec_from_file_location("_tokenizer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["sse2", "scalar"])
def kernel(request, monkeypatch):
    """Both builds of the kernel (sse2: the one installed, on x86-64)."""
    if request.param == "scalar":
        monkeypatch.setattr(fastparse, "_tokenizer", scalar_kernel())
    return request.param


def pyarrow_batch(block: bytes, layout: TextLayout) -> pa.RecordBatch:
    table = text_codec._read(block, layout, None, as_text=False, ascii=True)
    return text_codec._to_batch(table, layout)


def same_as_pyarrow(block: bytes, layout: TextLayout = LAYOUT) -> pa.RecordBatch:
    ours = fastparse.parse(block, layout)
    assert ours is not None, block
    theirs = pyarrow_batch(block, layout)
    assert ours.equals(theirs)
    assert ours.schema == theirs.schema
    for mine, its in zip(ours.columns, theirs.columns, strict=True):
        assert mine.null_count == its.null_count
        mine.validate(full=True)
    return ours


def test_aws_records_with_and_without_nulls(kernel):
    batch = same_as_pyarrow(GOOD + NULLS + GOOD)
    assert batch.num_rows == 3
    assert batch.column("srcaddr").to_pylist() == ["10.0.0.1", None, "10.0.0.1"]
    assert batch.column("bytes").to_pylist() == [8000, None, 8000]


def test_a_last_line_without_a_newline_is_a_record(kernel):
    assert same_as_pyarrow(GOOD + GOOD.rstrip(b"\n")).num_rows == 2


def test_extremes_of_each_integer_type(kernel):
    fmt = LogFormat.parse("${version} ${bytes} ${srcaddr}")
    layout = TextLayout(fmt)
    batch = same_as_pyarrow(b"2147483647 9223372036854775807 x\n0 0 y\n007 0009 z\n", layout)
    assert batch.column("version").to_pylist() == [2**31 - 1, 0, 7]
    assert batch.column("bytes").to_pylist() == [2**63 - 1, 0, 9]


def test_leading_columns_are_checked_then_dropped(kernel):
    layout = TextLayout(DEFAULT, ("timestamp",))
    block = b"2024-01-01T00:00:00.000Z " + GOOD + b"- " + NULLS
    batch = same_as_pyarrow(block, layout)
    assert batch.schema.names == DEFAULT.columns


@pytest.mark.parametrize(
    "block",
    [
        b"",
        GOOD + b"\n" + GOOD,  # an empty line (pyarrow skips it; the careful path counts lines)
        GOOD.replace(b" 443 ", b"  443 "),  # a double blank
        b" " + GOOD,
        GOOD.replace(b"OK\n", b"OK \n"),
        GOOD.replace(b" OK\n", b"\n"),  # a field short
        GOOD.replace(b" OK\n", b" OK extra\n"),  # a field over
        GOOD.replace(b" 443 ", b" +443 "),
        GOOD.replace(b" 443 ", b" -443 "),
        GOOD.replace(b" 443 ", b" 4x3 "),
        GOOD.replace(b" 443 ", b" 0x1bb "),
        GOOD.replace(b"2 1234", b"2147483648 1234"),  # int32 overflow
        GOOD.replace(b" 8000 ", b" 9223372036854775808 "),  # int64 overflow by one
        GOOD.replace(b" 8000 ", b" 99999999999999999999 "),  # twenty digits
        GOOD.replace(b"eni-0a1b", "eni-é".encode()),
        GOOD.replace(b"eni-0a1b", b"eni\x01"),
        GOOD.replace(b"eni-0a1b", b"eni\x7f"),
        GOOD.replace(b"\n", b"\r\n"),
        GOOD.replace(b"ACCEPT", b"ALLOW"),  # an enumerated value AWS never writes
        GOOD.replace(b"ACCEPT", b"ACCEP"),
        GOOD.replace(b"ACCEPT", b"ACCEPTS"),
        GOOD.replace(b" OK\n", b" ok\n"),
    ],
)
def test_anything_unusual_is_left_to_pyarrow(block, kernel):
    assert fastparse.parse(block, LAYOUT) is None


LONG = GOOD.replace(b"eni-0a1b", b"eni-0123456789abcdef0").replace(
    b"10.0.1.2", b"2001:db8:85a3::8a2e:370:7334"
)


@pytest.mark.parametrize("bad", [0, 9, 13, 31, 127, 128, 200, 255])
def test_a_byte_aws_never_writes_anywhere_is_left_to_pyarrow(bad, kernel):
    """Each position of a block (fields found 16 bytes at a time, or one at a time in the last
    16 bytes): a control, DEL or non-ASCII byte there always makes the tokenizer give up."""
    block = LONG + GOOD + LONG
    for at in range(len(block)):
        damaged = block[:at] + bytes([bad]) + block[at + 1 :]
        assert fastparse.parse(damaged, LAYOUT) is None, (bad, at)


def test_values_longer_than_sixteen_bytes_and_every_block_end(kernel):
    """Long values span several 16-byte loads; a block cut after each line ends the scan in the
    vector and in the byte-at-a-time loop."""
    block = (LONG + NULLS + GOOD) * 3
    for end in range(1, len(block) + 1):
        if block[end - 1 : end] == b"\n":
            same_as_pyarrow(block[:end])
    assert same_as_pyarrow(block).column("dstaddr")[0].as_py() == "2001:db8:85a3::8a2e:370:7334"


def test_the_kernel_refuses_buffers_that_do_not_fit_the_plan():
    """The C kernel checks its arguments before it writes through them."""
    import numpy as np

    from vpcflow.records import _tokenizer

    plan = fastparse._plan(LAYOUT)
    rows, ncols = 1, len(plan.kinds)
    counts, room = plan.counts, len(GOOD) + 16

    def call(chars_width=room, i64_rows=rows, kinds=plan.kinds, slots=plan.slots, said=None):
        said = said or {}  # sizes the caller claims, against the buffers' real ones
        return _tokenizer.tokenize(
            GOOD, kinds, slots, np.empty((counts[1], rows), np.int32),
            np.empty((counts[2], i64_rows), np.int64), np.empty((counts[3], rows + 1), np.int32),
            np.empty((counts[3], chars_width), np.uint8), np.empty((ncols, rows), np.uint8),
            np.zeros(ncols, np.int64), plan.allowed, plan.allowed_len, plan.first, plan.last,
            ncols, said.get("rows", rows), said.get("chars_width", chars_width),
            said.get("allowed_width", plan.allowed.shape[1]),
        )  # fmt: skip

    assert call() == 1
    with pytest.raises(ValueError, match="chars"):
        call(chars_width=len(GOOD) + 15)  # no room for the 16-byte copy past the last value
    with pytest.raises(ValueError, match="i64"):
        call(i64_rows=0)
    with pytest.raises(ValueError, match="negative"):
        _tokenizer.tokenize(GOOD, plan.kinds, plan.slots, *[np.empty(0)] * 6, plan.allowed, plan.allowed_len,
                            plan.first, plan.last, ncols, -1, room, 8)  # fmt: skip
    with pytest.raises(ValueError, match="bad plan"):
        call(kinds=np.full(ncols, 7, dtype=np.int8))
    with pytest.raises(ValueError, match="bad plan"):  # a slot past the columns' count
        call(slots=np.where(plan.kinds == plan.kinds[0], ncols, plan.slots).astype(np.int64))
    # Sizes whose products wrap around int64 (found by calling the UBSan build with them: the checks
    # passed and the kernel wrote out of bounds) and the largest row count (rows + 1 offsets).
    for size in ("rows", "chars_width", "allowed_width"):
        with pytest.raises(ValueError, match="too large"):
            call(said={size: 2**62})
    with pytest.raises(ValueError, match="negative"):
        call(said={"rows": 2**63 - 1})


# The kernel fixture only selects a build: nothing to reset between examples.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables(), st.booleans())
def test_any_valid_table_written_as_text_parses_as_pyarrow_parses_it(kernel, case, newline_at_end):
    fmt, table = case
    out = io.BytesIO()
    write_text(table, out, fmt)
    body = out.getvalue().partition(b"\n")[2]  # the records, without the header
    if not newline_at_end:
        body = body.rstrip(b"\n")
    batch = same_as_pyarrow(body, TextLayout(fmt))
    assert pa.Table.from_batches([batch]).equals(table)


@pytest.fixture
def counted(monkeypatch):
    """fastparse.parse with its calls and results counted."""
    assert text_codec._fast is fastparse  # the extension is built wherever the tests run
    calls = []
    real = fastparse.parse

    def parse(block, layout):
        batch = real(block, layout)
        calls.append(batch is not None)
        return batch

    monkeypatch.setattr(fastparse, "parse", parse)
    return calls


def big_file(tmp_path, bad_line: int | None = None):
    lines = [GOOD.replace(b" 1000 ", b" %d " % i) for i in range(40_000)]
    if bad_line is not None:
        lines[bad_line - 2] = GOOD.replace(b"ACCEPT", b"MAYBE")
    path = tmp_path / "big.log.gz"
    path.write_bytes(gzip.compress(DEFAULT.header.encode() + b"\n" + b"".join(lines), 1))
    return path


def test_a_big_trusted_file_is_read_by_the_tokenizer(tmp_path, counted, monkeypatch):
    path = big_file(tmp_path)
    fast = read_table(path)
    assert counted and all(counted)
    monkeypatch.setattr(text_codec, "_fast", None)
    assert fast.equals(read_table(path))
    assert fast.num_rows == 40_000


def test_a_bad_value_in_a_tokenized_block_is_reported_by_the_careful_path(tmp_path, counted):
    from vpcflow.records.badrecords import ReadStats

    stats = ReadStats()
    path = big_file(tmp_path, bad_line=30_001)
    rows = sum(b.num_rows for b in read_batches(path, on_error="skip", stats=stats))
    assert counted
    assert rows == 39_999 and stats.bad == 1
    assert stats.errors[0].line == 30_001 and stats.errors[0].field == "action"


def test_without_the_extension_files_are_read_by_pyarrow(tmp_path, monkeypatch):
    import importlib
    import sys

    import vpcflow.records

    # Where the C extension was not built, importing fastparse raises ImportError (which
    # text_codec catches) ...
    monkeypatch.setitem(sys.modules, "vpcflow.records._tokenizer", None)
    monkeypatch.delattr(vpcflow.records, "_tokenizer")
    monkeypatch.delitem(sys.modules, "vpcflow.records.fastparse")
    monkeypatch.delattr(vpcflow.records, "fastparse")
    with pytest.raises(ImportError):
        importlib.import_module("vpcflow.records.fastparse")
    # ... and every block is read by pyarrow.
    monkeypatch.setattr(text_codec, "_fast", None)
    path = big_file(tmp_path)
    table = read_table(path)
    assert table.num_rows == 40_000 and table.column("srcport").to_pylist()[:3] == [0, 1, 2]


def test_a_streamed_input_is_tokenized_and_its_lines_still_numbered(tmp_path, counted, monkeypatch):
    """An open stream is read in blocks (never whole): the tokenizer reads them too, and a bad
    line after several of its blocks is still named by its physical line."""
    from vpcflow.records import reader
    from vpcflow.records.badrecords import ReadStats

    monkeypatch.setattr(reader, "BLOCK_BYTES", 1_200_000)  # 3.8 MB of text: four blocks

    path = big_file(tmp_path, bad_line=39_000)  # past the first blocks
    stream = io.BytesIO(path.read_bytes())
    stream.name = "piped.log.gz"
    stats = ReadStats()
    rows = sum(b.num_rows for b in read_batches(stream, on_error="skip", stats=stats))
    assert sum(counted) >= 2  # blocks before the bad one were tokenized
    assert rows == 39_999 and stats.bad == 1
    assert stats.errors[0].line == 39_000 and stats.errors[0].field == "action"


def test_a_file_the_reader_does_not_trust_is_tokenized_too(tmp_path, counted, monkeypatch):
    # an 'x' sends a whole file off the trusted path (pyarrow reads 0x1f as hex in numbers);
    # in a string it is a plain value, and the tokenizer reads it as one
    lines = [GOOD.replace(b"eni-0a1b", b"eni-0x%d" % i) for i in range(40_000)]
    path = tmp_path / "x.log.gz"
    path.write_bytes(gzip.compress(DEFAULT.header.encode() + b"\n" + b"".join(lines), 1))
    fast = read_table(path)
    assert counted and all(counted)
    monkeypatch.setattr(text_codec, "_fast", None)
    assert fast.equals(read_table(path)) and fast.column("interface_id")[7].as_py() == "eni-0x7"


def test_the_trust_check_runs_only_for_a_block_the_tokenizer_declines(tmp_path, counted):
    from vpcflow.records.reader import open_flow_log

    big = open_flow_log(big_file(tmp_path))
    assert sum(b.num_rows for b in big.batches()) == 40_000 and all(counted)
    assert big._clean is None  # every block tokenized: the file's bytes never scanned for trust
    small = tmp_path / "small.log"
    small.write_bytes(DEFAULT.header.encode() + b"\n" + GOOD + GOOD.replace(b" OK", b"  OK"))
    flow = open_flow_log(small)  # the double blank: the tokenizer declines, the trust scan runs
    assert sum(b.num_rows for b in flow.batches()) == 2 and flow._clean is True
