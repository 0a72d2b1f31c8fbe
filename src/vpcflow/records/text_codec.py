"""Space-separated flow log text, one block of whole lines at a time, into typed Arrow columns.

Three paths, fastest first, so that clean data pays nothing for the checks damaged data needs:
1. fast: for clean text, a tokenizer in C (fastparse.py) that gives exactly pyarrow's batch or
   gives up; otherwise pyarrow's CSV parser straight into the catalog types,
   '-' as null; rows with the wrong field count are set aside by the parser; enumerated fields
   are checked on their distinct values.
   A block the reader vouches for (`trusted`: its file is ASCII with no CR, tab or hex prefix)
   skips the byte scan and UTF-8 validation; any misfit, bad value or control byte in a string
   sends it back through the normal paths, so trusting never changes what is read.
2. medium (only for a block whose fast parse failed): every column as text, lines with bytes AWS
   never writes (non-ASCII, control characters) set aside, then each column checked with vectorised
   kernels (digits, ranges, allowed values) and the good rows cast.
3. whitespace repair: AWS's own documentation shows a record with a double space (flowlogs.md §9.5),
   so a block whose misfit rows would fit once runs of blanks are folded is parsed again folded.
Line numbers are physical lines of the input, 1-based, so errors point at the line in an editor.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from vpcflow.records.badrecords import BadRecord
from vpcflow.records.catalog import Field
from vpcflow.records.formats import LogFormat

_INT_LIMITS = {"int32": 2**31 - 1, "int64": 2**63 - 1}
_BLANKS = re.compile(rb"[ \t]+")
_EDGE_BLANKS = re.compile(rb"(?m)^ +| +(?=\r?$)")


# What a leading column holds (see TextLayout): a CloudWatch Logs export's event timestamp, as a
# pattern pyarrow's regex engine (RE2) and Python's both read, and its name in error messages.
ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$"
LEADING = {"event-timestamp": (ISO_TIMESTAMP, "an ISO-8601 timestamp")}


@dataclass(frozen=True)
class TextLayout:
    """The columns of one text input: the record format, after optional leading columns.

    `leading` names columns that precede the record on each line (a CloudWatch Logs export puts the
    event timestamp first); they are parsed as text and dropped from the output.
    """

    fmt: LogFormat
    leading: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [*self.leading, *self.fmt.columns]

    @property
    def fields(self) -> list[Field | None]:
        return [None] * len(self.leading) + list(self.fmt.fields)

    def types(self, as_text: bool = False) -> dict[str, pa.DataType]:
        return {
            name: (pa.string() if as_text or f is None else f.arrow_type)
            for name, f in zip(self.names, self.fields, strict=True)
        }


@dataclass
class BlockResult:
    batch: pa.RecordBatch  # good rows, in input order, with the format's columns and types
    bad: list[BadRecord]  # bad lines, in input order
    good_lines: np.ndarray | None = None  # absolute line of each good row (computed only if bad)
    line_count: int = 0  # newlines in the block: where the next block starts

    def good_before(self, line: int) -> pa.RecordBatch:
        """The good rows that come before `line` (for `fail`: what was read before the first error)."""
        if self.good_lines is None:
            return self.batch
        return self.batch.slice(0, int(np.searchsorted(self.good_lines, line)))

    def shift(self, lines: int) -> BlockResult:
        """Renumber a block parsed as if it started on line 1 (workers do not know the offset)."""
        if lines and self.bad:
            for bad in self.bad:
                bad.line = None if bad.line is None else bad.line + lines
            self.good_lines = None if self.good_lines is None else self.good_lines + lines
        return self


def parse_block(
    block: bytes | memoryview,
    layout: TextLayout,
    source: str,
    first_line: int = 1,
    *,
    trusted: bool | Callable[[], bool] = False,
) -> BlockResult:
    """Parse whole lines (`block` ends at a line end) whose first line is `first_line` of `source`.

    A trusted block's result has no `line_count` (0) when it is clean: the reader numbers its lines
    from the block's offset, and only when some block has bad records."""
    result = _tokenized(block, layout)  # trusted or not: the tokenizer vouches for what it reads
    if result is not None:
        return result
    long_lines = _has_long_line(block)
    if not long_lines and (trusted() if callable(trusted) else trusted):  # asked only when the tokenizer declined
        result = _parse_trusted(block, layout)
        if result is not None:
            return result
    block = bytes(block)
    plain, newlines = _scan(block)
    if plain and not long_lines:
        result = _parse(block, layout, source, first_line)
    else:  # AWS writes printable ASCII only; anything else takes the careful path
        result = _parse_damaged(block, layout, source, first_line)
    result.line_count = newlines
    return result


def _parse(block: bytes, layout: TextLayout, source: str, first_line: int) -> BlockResult:
    misfits: list[tuple[int, str]] = []
    try:
        table = _read(block, layout, misfits, as_text=False)
        if misfits and _fold_would_help(misfits):
            block, misfits = _fold_blanks(block), []
            table = _read(block, layout, misfits, as_text=False)
        bad_rows = _check_values(table, layout, typed=True)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return _parse_damaged(block, layout, source, first_line)
    if not misfits and not bad_rows:
        return BlockResult(_to_batch(table, layout), [])
    return _split(block, table, layout, source, first_line, misfits, bad_rows, [])


def _tokenized(block: bytes | memoryview, layout: TextLayout) -> BlockResult | None:
    """A block read whole by the tokenizer with nothing to set aside, or None. It accepts
    printable ASCII only, in exactly the layout's fields, so a block it reads needs no trust."""
    batch = _fast_parse(block, layout)
    if batch is None:
        return None
    # Its numbers have no sign and its strings are AWS's enumerated values (checked as it read
    # them): what is left is the enumerated numbers.
    if _check_values(batch, layout, typed=True, numbers=False, strings=False):
        return None
    # No empty line gets through the tokenizer: a newline ends every row but an unterminated last.
    newlines = batch.num_rows - (0 if block[-1:] == b"\n" else 1)
    return BlockResult(batch, [], line_count=newlines)


def _parse_trusted(block: bytes | memoryview, layout: TextLayout) -> BlockResult | None:
    """The fast path with nothing to set aside, or None: parse the block the normal way."""
    try:
        table = _read(block, layout, None, as_text=False, ascii=True)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if not _printable_strings(table) or _check_values(table, layout, typed=True):
        return None
    return BlockResult(_to_batch(table, layout), [])


try:
    from vpcflow.records import fastparse as _fast
except ImportError:  # the C extension was not built here (no compiler): pyarrow reads every block
    _fast = None


def _fast_parse(block: bytes | memoryview, layout: TextLayout) -> pa.RecordBatch | None:
    """The tokenizer's batch (fastparse.py), or None: an unusual block, or no tokenizer built;
    pyarrow then reads the block as before."""
    return None if _fast is None else _fast.parse(block, layout)


def _printable_strings(table: pa.Table) -> bool:
    """No control byte in any string value (numbers with one fail to parse, tabs aside, which
    the reader's trust check rules out); one vectorised min over each column's character data."""
    for column in table.columns:
        if not pa.types.is_string(column.type):
            continue
        for chunk in column.chunks:
            _, offsets, data = chunk.buffers()
            if data is None or len(chunk) == 0:
                continue
            bounds = np.frombuffer(offsets, dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4)
            chars = np.frombuffer(data, dtype=np.uint8)[bounds[0] : bounds[-1]]
            if chars.size and chars.min() <= 32:
                return False
    return True


def _scan(block: bytes) -> tuple[bool, int]:
    """Whether a block is printable ASCII and newlines only, with no 'x' (pyarrow reads `0x1f` in
    a number as hex: such blocks take the careful path), and its newline count (vectorised: a few
    percent of the parse time, and off the main thread)."""
    data = np.frombuffer(block, dtype=np.uint8)
    newlines = int(np.count_nonzero(data == 10))
    if not block.isascii() or b"x" in block or b"X" in block:
        return False, newlines
    return int(np.count_nonzero(data < 32)) == newlines, newlines


def _read(
    block: bytes | memoryview, layout: TextLayout, misfits: list | None, *, as_text: bool, ascii: bool = False
) -> pa.Table:
    """`misfits` collects rows with the wrong field count (None: such a row raises); `ascii`: the
    caller knows the bytes are ASCII, so pyarrow need not validate UTF-8."""

    def on_misfit(row) -> str:
        if misfits is None:
            return "error"
        misfits.append((row.number, row.text))
        return "skip"

    return pacsv.read_csv(
        pa.py_buffer(block),
        read_options=pacsv.ReadOptions(column_names=layout.names, use_threads=False, block_size=1 << 26),
        parse_options=pacsv.ParseOptions(
            delimiter=" ",
            quote_char=False,
            double_quote=False,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=True,
            invalid_row_handler=on_misfit,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=layout.types(as_text), null_values=["-"], strings_can_be_null=True, check_utf8=not ascii
        ),
    )


def _fold_would_help(misfits: list[tuple[int, str]]) -> bool:
    return any("  " in text or "\t" in text or text.startswith(" ") or text.endswith(" ") for _, text in misfits)


def _fold_blanks(block: bytes) -> bytes:
    return _EDGE_BLANKS.sub(b"", _BLANKS.sub(b" ", block))


def _check_values(
    table: pa.Table, layout: TextLayout, *, typed: bool, numbers: bool = True, strings: bool = True
) -> dict[int, tuple[str, str]]:
    """Rows whose values AWS never writes: {row index: (column, reason)}, first failing column wins."""
    bad: dict[int, tuple[str, str]] = {}
    for name, f in zip(layout.names, layout.fields, strict=True):
        if f is None:
            if name in LEADING and strings:
                for index, reason in _leading_problems(table.column(name), name).items():
                    bad.setdefault(index, (name, reason))
            continue
        column = table.column(name)
        if f.is_numeric and numbers:
            for index, reason in _numeric_problems(column, f, typed).items():
                bad.setdefault(index, (name, reason))
        if f.strict and f.values and (strings or f.is_numeric):
            for index, reason in _value_problems(column, f).items():
                bad.setdefault(index, (name, reason))
    return bad


def _leading_problems(column: pa.ChunkedArray, name: str) -> dict[int, str]:
    pattern, what = LEADING[name]
    matches = pc.fill_null(pc.match_substring_regex(column, pattern), False)
    return {i: f"expected {what}, found {_value(column, i)!r}" for i in _true_rows(pc.invert(matches))}


def _numeric_problems(column: pa.ChunkedArray, f: Field, typed: bool) -> dict[int, str]:
    if typed:  # the parser already proved these are integers of the right width
        low = pc.min(column).as_py()
        if low is None or low >= 0:
            return {}
        mask = pc.less(column, 0)
        return {i: f"negative value for {f.token}" for i in _true_rows(mask)}
    digits = pc.match_substring_regex(column, r"^[0-9]{1,19}$")
    problems = {i: f"expected a whole number, found {_value(column, i)!r}" for i in _true_rows(pc.invert(digits))}
    ok = pc.fill_null(digits, True)
    as_int = pc.cast(pc.if_else(ok, pc.utf8_slice_codeunits(column, 0, 18), None), pa.int64())
    # 19 digits may still fit an int64: equal-length digit strings compare as their numbers.
    length = pc.utf8_length(column)
    too_long = pc.or_(pc.greater(length, 19), pc.and_(pc.equal(length, 19), pc.greater(column, str(2**63 - 1))))
    big = pc.and_(ok, pc.or_(too_long, pc.greater(as_int, _INT_LIMITS[f.kind])))
    for i in _true_rows(big):
        problems.setdefault(i, f"{_value(column, i)} is too large for {f.token} ({f.kind})")
    return problems


def _value_problems(column: pa.ChunkedArray, f: Field) -> dict[int, str]:
    distinct = pc.unique(column)
    allowed = pa.array(f.values).cast(column.type) if f.is_numeric else pa.array(f.values)
    if not pc.any(_outside(distinct, allowed)).as_py():
        return {}
    mask = _outside(column, allowed)
    shown = ", ".join(f.values)
    return {i: f"unknown value {_value(column, i)!r} (AWS writes {shown} or -)" for i in _true_rows(mask)}


def _outside(values, allowed):
    """True where a value is present and not allowed ('-', i.e. null, is always allowed)."""
    return pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, allowed)))


def _true_rows(mask) -> list[int]:
    mask = pc.fill_null(mask, False)
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    return np.flatnonzero(mask.to_numpy(zero_copy_only=False)).tolist()


def _value(column: pa.ChunkedArray, index: int):
    return column[index].as_py()


def _parse_damaged(block: bytes, layout: TextLayout, source: str, first_line: int) -> BlockResult:
    """The medium path: set aside non-text lines, parse as text, check every column, cast."""
    starts, ends = _line_bounds(block)
    data = np.frombuffer(block, dtype=np.uint8)
    odd = (data > 126) | ((data < 32) & (data != 10) & (data != 13) & (data != 9))
    # A carriage return not ending a line would be a line break to the CSV parser but not to us.
    lone_cr = np.flatnonzero(data == 13)
    lone_cr = lone_cr[(lone_cr + 1 >= len(data)) | (data[np.minimum(lone_cr + 1, len(data) - 1)] != 10)]
    odd[lone_cr] = True
    binary_lines: list[BadRecord] = []
    long = np.flatnonzero(ends - starts > MAX_LINE_BYTES)
    if odd.any() or len(long):
        rel = np.union1d(np.searchsorted(ends, np.flatnonzero(odd)), long).astype(np.int64)
        pieces, last = [], 0
        for r in rel.tolist():
            text = block[starts[r] : ends[r]]
            field, reason = _odd_byte(layout, text) if len(text) <= MAX_LINE_BYTES else _long_line(layout, text)
            binary_lines.append(BadRecord(source, first_line + r, field, reason, text))
            pieces += [block[last : starts[r]]]
            last = ends[r]
        block = b"".join(pieces) + block[last:]  # the line becomes empty; numbering is kept
    misfits: list[tuple[int, str]] = []
    table = _read(block, layout, misfits, as_text=True)
    if misfits and _fold_would_help(misfits):
        block, misfits = _fold_blanks(block), []
        table = _read(block, layout, misfits, as_text=True)
    bad_rows = _check_values(table, layout, typed=False)
    return _split(block, table, layout, source, first_line, misfits, bad_rows, binary_lines)


# No flow log record comes near this (every field of the newest version, each at its longest, is
# under 2 KB): a longer line is a bad line, set aside before pyarrow, which would fail on a line
# longer than its block (64 MiB) and hold a value for every blank-separated word of it.
MAX_LINE_BYTES = 64 << 10


def _has_long_line(block: bytes | memoryview) -> bool:
    if len(block) <= MAX_LINE_BYTES:
        return False
    newlines = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
    bounds = np.concatenate(([-1], newlines, [len(block)]))
    return bool((np.diff(bounds) - 1 > MAX_LINE_BYTES).any())


def _long_line(layout: TextLayout, line: bytes) -> tuple[str, str]:
    """The field a line is in when it passes MAX_LINE_BYTES, and why it is bad."""
    reason = f"a line of {len(line)} bytes, longer than any flow log record ({MAX_LINE_BYTES} at most)"
    return field_at(layout, line, MAX_LINE_BYTES), reason


def _odd_byte(layout: TextLayout, line: bytes) -> tuple[str, str]:
    """The field holding a line's first byte AWS never writes, and the byte."""
    pos = first_odd_byte(line)
    return field_at(layout, line, pos), f"byte 0x{line[pos]:02x}: bytes AWS never writes (binary or non-ASCII text)"


def first_odd_byte(data: bytes) -> int | None:
    """Where the first byte AWS never writes is: a control byte but tab and line ends, DEL or
    non-ASCII; a CR only where it does not end a line (the CSV parser would take it for one)."""
    for i, b in enumerate(data):
        if b > 126 or (b < 32 and b not in (9, 10, 13)) or (b == 13 and data[i + 1 : i + 2] not in (b"\n", b"")):
            return i
    return None


def field_at(layout: TextLayout, line: bytes, pos: int) -> str:
    """The field byte `pos` of a line falls in, by the blanks before it (past the last field: the last)."""
    tokens = field_tokens(layout)
    return tokens[min(line.count(b" ", 0, pos), len(tokens) - 1)]


def field_tokens(layout: TextLayout) -> list[str]:
    """The layout's columns as a user writes them: field names in format syntax (log-status)."""
    return [f.token if f is not None else name for name, f in zip(layout.names, layout.fields, strict=True)]


def _misfit(layout: TextLayout, found: int) -> tuple[str, str]:
    """The field a line with the wrong field count goes wrong at, and why: the first field it
    lacks, or the last field, after which it has more."""
    tokens = field_tokens(layout)
    expected = len(tokens)
    if found < expected:
        return tokens[found], f"expected {expected} fields, found {found}: the line ends before this field"
    return tokens[-1], f"expected {expected} fields, found {found}: the line goes on after this, the last field"


def _split(block, table, layout, source, first_line, misfits, bad_rows, extra_bad) -> BlockResult:
    bad = list(extra_bad)
    # pyarrow numbers the rows it reads, skipping empty lines: map its numbers to physical lines.
    physical = _read_lines(block) + (first_line - 1)
    keep_lines = np.ones(len(physical), dtype=bool)
    for number, text in misfits:
        found = len(text.split(" ")) if text else 0
        line = int(physical[number - 1]) if number <= len(physical) else first_line + number - 1
        keep_lines[min(number, len(physical)) - 1] = False
        field, reason = _misfit(layout, found)
        bad.append(BadRecord(source, line, field, reason, text.encode()))
    row_lines = physical[keep_lines]
    if bad_rows:
        starts, ends = _line_bounds(block)
        for index, (column, reason) in bad_rows.items():
            line = int(row_lines[index])
            rel = line - first_line
            bad.append(BadRecord(source, line, column.replace("_", "-"), reason, block[starts[rel] : ends[rel]]))
        keep = np.ones(table.num_rows, dtype=bool)
        keep[list(bad_rows)] = False
        table = table.filter(pa.array(keep))
        row_lines = row_lines[keep]
    bad.sort(key=lambda b: b.line or 0)
    return BlockResult(_to_batch(table, layout), bad, row_lines)


def _line_bounds(block: bytes) -> tuple[np.ndarray, np.ndarray]:
    data = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(data == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(data)]))
    if starts[-1] == len(data):  # the block ends with a newline: no line after it
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def _read_lines(block: bytes) -> np.ndarray:
    """1-based numbers of the lines the parser reads as rows: the non-empty ones ("\r" alone is
    empty too, as the parser ends lines at CR LF)."""
    starts, ends = _line_bounds(block)
    data = np.frombuffer(block, dtype=np.uint8)
    lengths = ends - starts
    only_cr = (lengths == 1) & (data[np.minimum(starts, len(data) - 1)] == 13) if len(data) else lengths < 0
    return np.flatnonzero((lengths > 0) & ~only_cr) + 1


def _to_batch(table: pa.Table, layout: TextLayout) -> pa.RecordBatch:
    if layout.leading:
        table = table.drop_columns(list(layout.leading))
    schema = layout.fmt.schema
    if table.schema != schema:
        table = table.cast(schema)
    table = table.combine_chunks()
    batches = table.to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=schema)
