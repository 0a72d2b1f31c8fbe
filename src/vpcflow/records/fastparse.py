"""A single-pass tokenizer for trusted blocks of flow log text, compiled with numba.

pyarrow's CSV reader is general (quoting, type inference, many null spellings) and was 92% of the
read time. Flow log text needs none of that: single spaces, one line per record, digits or '-' in
numeric fields. This kernel walks the bytes once, writing integers straight into their columns and
string offsets as it goes, then copies the string bytes into one exact-size buffer.

It is stricter than pyarrow, never looser: anything unusual (a wrong field count, an empty line,
leading, trailing or double blanks, a sign, a non-digit or too many digits in a number, a value
out of its type's range, a byte AWS never writes inside a string, a string value other than the
ones AWS enumerates for its field) makes it give up, and the caller parses the block with pyarrow
as before, so bad-record reporting is unchanged. On what it accepts it gives exactly the batch
pyarrow gives.

numba costs ~0.3 s to import and its kernels ~0.2 s to load from the cache (compiled once per
machine, under __pycache__ or numba's user cache dir), so text_codec loads this module only for a
big block, on a thread of its own: a small CLI input never pays that; a big read pays it once.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pyarrow as pa
from numba import njit

SKIP, INT32, INT64, STRING = 0, 1, 2, 3  # column kinds; SKIP: a leading column, checked then dropped
_KINDS = {pa.int32(): INT32, pa.int64(): INT64, pa.string(): STRING}
_SPACE, _NEWLINE, _DASH, _ZERO = 32, 10, 45, 48
_INT64_MAX_DIV10 = (2**63 - 1) // 10  # 922337203685477580: the 18 leading digits of the largest int64


def _jit(fn):
    """Compiled, releasing the GIL (the reader parses on two threads), cached on disk. numba finds
    a writable cache dir itself (next to the module, else the user's cache dir); with none at all
    it cannot cache and says so at decoration, and we compile on first use instead."""
    try:
        return njit(nogil=True, cache=True)(fn)
    except RuntimeError:
        return njit(nogil=True)(fn)


@_jit
def _count_rows(data):
    """Newlines, plus one for a last line without one (pyarrow reads it as a row too)."""
    rows = 0
    for b in data:
        rows += b == _NEWLINE
    if data.size and data[data.size - 1] != _NEWLINE:
        rows += 1
    return rows


@_jit
def _tokenize(
    data, kinds, slots, i32, i64, offsets, chars, valid, nulls, allowed, allowed_len, enum_first, enum_last
):
    """Fill the columns; the number of rows read, or -1 - (byte offset) where the block is unusual.

    kinds[c]: column c's kind; slots[c]: its row in i32, i64 or offsets/chars (by kind).
    valid[c, r]: 0 where a field is '-' (null); nulls[c] counts those.
    offsets[k]: Arrow offsets of string column k (offsets[k, 0] is 0), chars[k]: its bytes,
    copied while scanning (a separate gather of short pieces measured slower than the scan).
    allowed[enum_first[c]:enum_last[c]]: the values AWS enumerates for a string column c (allowed_len[a]
    bytes of row a); any other value gives up, and the careful path names it. Checked here, on
    bytes already in cache, instead of hashing every value again afterwards (12% of a parse)."""
    n = data.size
    ncols = kinds.size
    rows = valid.shape[1]
    pos = 0
    row = 0
    while pos < n:
        if row >= rows:
            return -1 - pos
        for c in range(ncols):
            kind = kinds[c]
            start = pos
            if kind == STRING or kind == SKIP:  # noqa: SIM109 (plain comparisons for numba)
                # Printable ASCII up to the separator; a control byte, DEL or non-ASCII stops the
                # field too, and then fails the separator check below. A skipped column's bytes
                # land in the last row of chars, each over the one before.
                k = slots[c]
                at = offsets[k, row] if kind == STRING else 0
                while pos < n:
                    b = data[pos]
                    if b <= 32 or b >= 127:
                        break
                    chars[k, at] = b
                    at += 1
                    pos += 1
                length = pos - start
                if length == 0:  # empty line, double or edge blank
                    return -1 - pos
                if length == 1 and data[start] == _DASH:
                    valid[c, row] = 0
                    nulls[c] += 1
                    length = 0
                else:
                    valid[c, row] = 1
                    if enum_first[c] < enum_last[c]:
                        found = False
                        for a in range(enum_first[c], enum_last[c]):
                            if allowed_len[a] == length:
                                same = True
                                for i in range(length):
                                    if allowed[a, i] != data[start + i]:
                                        same = False
                                        break
                                if same:
                                    found = True
                                    break
                        if not found:
                            return -1 - start
                if kind == STRING:
                    offsets[k, row + 1] = offsets[k, row] + length
            else:
                value = 0
                while pos < n and _ZERO <= data[pos] <= _ZERO + 9:
                    value = value * 10 + (data[pos] - _ZERO)
                    pos += 1
                digits = pos - start
                if digits == 0:
                    if pos < n and data[pos] == _DASH:  # '-' alone; '-5' fails the separator check
                        pos += 1
                        valid[c, row] = 0
                        nulls[c] += 1
                    else:
                        return -1 - pos
                elif kind == INT32:
                    # Ten digits fit an int64 exactly, so the range check is exact.
                    if digits > 10 or value > 2147483647:
                        return -1 - start
                    valid[c, row] = 1
                else:
                    if digits > 19:
                        return -1 - start
                    if digits == 19:
                        # The value may have wrapped: judge by the first 18 digits and the last.
                        head = 0
                        for i in range(start, pos - 1):
                            head = head * 10 + (data[i] - _ZERO)
                        last = data[pos - 1] - _ZERO
                        if head > _INT64_MAX_DIV10 or (head == _INT64_MAX_DIV10 and last > 7):
                            return -1 - start
                    valid[c, row] = 1
                if kind == INT32:
                    i32[slots[c], row] = value  # 0 under a null, as pyarrow writes
                elif kind == INT64:
                    i64[slots[c], row] = value
            # Separator: a space between fields, a newline (or the end) after the last one.
            if c == ncols - 1:
                if pos < n:
                    if data[pos] != _NEWLINE:
                        return -1 - pos
                    pos += 1
            else:
                if pos >= n or data[pos] != _SPACE:
                    return -1 - pos
                pos += 1
        row += 1
    return row


_LOCAL = threading.local()


def _scratch(columns: int, size: int) -> np.ndarray:
    """Per thread, room for every string column to be as long as the block (only the pages
    written become resident), kept for the next block: fresh pages would cost page faults."""
    scratch = getattr(_LOCAL, "scratch", None)
    if scratch is None or scratch.shape[0] < columns or scratch.shape[1] < size:
        old_rows, old_width = (0, 0) if scratch is None else scratch.shape
        rows, width = max(columns, old_rows), max(size, old_width, 1 << 22)
        scratch = _LOCAL.scratch = np.empty((rows, width), dtype=np.uint8)
    return scratch


class _Plan(NamedTuple):
    kinds: np.ndarray  # per column: SKIP, INT32, INT64 or STRING
    slots: np.ndarray  # per column: its row among the columns of its kind
    counts: dict  # columns of each kind
    types: list  # per column: its Arrow type
    allowed: np.ndarray  # the enumerated values of string columns, one per row, zero-padded
    allowed_len: np.ndarray  # their lengths
    first: np.ndarray  # per column: its first row in `allowed` (first == last: any value)
    last: np.ndarray


@lru_cache(maxsize=64)
def _plan(layout) -> _Plan | None:
    """How the kernel reads each column; None when a column has a type this kernel does not parse."""
    types = list(layout.types().values())
    kinds, slots, counts = [], [], {INT32: 0, INT64: 0, STRING: 0, SKIP: 0}
    values: list[bytes] = []
    first, last = [], []
    for i, (t, f) in enumerate(zip(types, layout.fields, strict=True)):
        kind = SKIP if i < len(layout.leading) else _KINDS.get(t)
        if kind is None:
            return None
        kinds.append(kind)
        slots.append(counts[kind] if kind != SKIP else -1)
        counts[kind] += 1
        first.append(len(values))
        if kind == STRING and f is not None and f.strict and f.values:
            values += [v.encode() for v in f.values]  # numeric ones are checked after (text_codec)
        last.append(len(values))
    slots = [counts[STRING] if s < 0 else s for s in slots]  # skipped: the scratch row after the strings
    allowed = np.zeros((max(len(values), 1), max(map(len, values), default=1)), dtype=np.uint8)
    for a, v in enumerate(values):
        allowed[a, : len(v)] = np.frombuffer(v, dtype=np.uint8)
    return _Plan(
        np.array(kinds, dtype=np.int8), np.array(slots, dtype=np.int64), counts, types, allowed,
        np.array([len(v) for v in values] or [0], dtype=np.int64),
        np.array(first, dtype=np.int64), np.array(last, dtype=np.int64),
    )  # fmt: skip


def parse(block: bytes | memoryview, layout) -> pa.RecordBatch | None:
    """The block's records as a batch of the layout's format (leading columns dropped), or None:
    the block is unusual (or too big for int32 offsets); parse it with pyarrow."""
    plan = _plan(layout)
    data = np.frombuffer(block, dtype=np.uint8)
    # Read-only whatever the buffer (bytes, or libdeflate's writable output): numba compiles and
    # loads one kernel per argument type, and `warm` loads this one.
    data.flags.writeable = False
    if plan is None or data.size == 0 or data.size >= 2**31:
        return None
    kinds, slots, counts, types = plan.kinds, plan.slots, plan.counts, plan.types
    rows = int(_count_rows(data))
    ncols, nstr = len(kinds), counts[STRING]
    i32 = np.empty((counts[INT32], rows), dtype=np.int32)
    i64 = np.empty((counts[INT64], rows), dtype=np.int64)
    offsets = np.empty((nstr, rows + 1), dtype=np.int32)
    offsets[:, 0] = 0
    chars = _scratch(nstr + 1, data.size)
    valid = np.empty((ncols, rows), dtype=np.uint8)
    nulls = np.zeros(ncols, dtype=np.int64)
    enums = (plan.allowed, plan.allowed_len, plan.first, plan.last)
    if _tokenize(data, kinds, slots, i32, i64, offsets, chars, valid, nulls, *enums) != rows:
        return None
    # Each column's bytes to one exact-size buffer (memcpy: fast), so a batch holds no slack.
    sizes = offsets[:, rows].astype(np.int64)
    bases = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    packed = np.empty(int(bases[-1]), dtype=np.uint8)
    for k in range(nstr):
        packed[bases[k] : bases[k + 1]] = chars[k, : sizes[k]]
    chars_buffer = pa.py_buffer(packed)
    arrays = []
    for c in range(len(layout.leading), ncols):
        kind, k, null_count = kinds[c], slots[c], int(nulls[c])
        # Every value present: no bitmap at all, as pyarrow's own reader leaves it.
        bitmap = pa.py_buffer(np.packbits(valid[c], bitorder="little")) if null_count else None
        if kind == STRING:
            data_buffer = chars_buffer.slice(int(bases[k]), int(sizes[k]))
            buffers = [bitmap, pa.py_buffer(offsets[k]), data_buffer]
        else:
            buffers = [bitmap, pa.py_buffer(i32[k] if kind == INT32 else i64[k])]
        arrays.append(pa.Array.from_buffers(types[c], rows, buffers, null_count=null_count))
    return pa.RecordBatch.from_arrays(arrays, schema=layout.fmt.schema)


def warm() -> None:
    """Load (or compile, the first time on a machine) both kernels for the argument types `parse`
    passes, so the first real block does not pay for it."""
    from vpcflow.records.formats import LogFormat
    from vpcflow.records.text_codec import TextLayout

    layout = TextLayout(LogFormat.parse("${version} ${account-id} ${packets}"), ("time",))
    parse(b"t 2 123456789012 -\n", layout)
