"""A single-pass tokenizer for blocks of flow log text, written in C (_tokenizer.c).

pyarrow's CSV reader is general (quoting, type inference, many null spellings) and was 92% of the
read time. Flow log text needs none of that: single spaces, one line per record, digits or '-' in
numeric fields. The kernel walks the bytes once, finding each field's end 16 bytes at a time,
writing integers straight into their columns and string bytes and offsets as it goes; this module
allocates those columns and wraps them, without copying, as an Arrow batch.

It is stricter than pyarrow, never looser: anything unusual (a wrong field count, an empty line,
leading, trailing or double blanks, a sign, a non-digit or too many digits in a number, a value
out of its type's range, a byte AWS never writes inside a string, a string value other than the
ones AWS enumerates for its field) makes it give up, and the caller parses the block with pyarrow
as before, so bad-record reporting is unchanged. On what it accepts it gives exactly the batch
pyarrow gives.

The extension is built when the package is installed (setup.py). Where it could not be, importing
this module fails, and text_codec reads every block with pyarrow. It loads in well under a
millisecond, so even a small input uses it (an earlier numba kernel cost ~0.3 s to start).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from vpcflow.records import _tokenizer

# Column kinds, as in _tokenizer.c; SKIP: a leading column, checked then dropped.
SKIP, INT32, INT64, STRING = 0, 1, 2, 3
_KINDS = {pa.int32(): INT32, pa.int64(): INT64, pa.string(): STRING}
_OVERRUN = 16  # the kernel copies a string 16 bytes at a time: room past the end of each column's bytes


_LOCAL = threading.local()


def _scratch(columns: int, size: int) -> np.ndarray:
    """Per thread, room for every string column to be as long as the block (only the pages
    written become resident), kept for the next block: fresh pages would cost page faults."""
    scratch = getattr(_LOCAL, "scratch", None)
    size += _OVERRUN
    if scratch is None or scratch.shape[0] < columns or scratch.shape[1] < size:
        old_rows, old_width = (0, 0) if scratch is None else scratch.shape
        rows, width = max(columns, old_rows, 1), max(size, old_width, 1 << 22)
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
    # At least 8 bytes a row: the kernel compares a short value as one 8-byte word.
    allowed = np.zeros((max(len(values), 1), max([8, *map(len, values)])), dtype=np.uint8)
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
    if plan is None or len(block) == 0 or len(block) >= 2**31:
        return None
    kinds, slots, counts, types = plan.kinds, plan.slots, plan.counts, plan.types
    rows = _tokenizer.count_rows(block)
    ncols, nstr = len(kinds), counts[STRING]
    i32 = np.empty((counts[INT32], rows), dtype=np.int32)
    i64 = np.empty((counts[INT64], rows), dtype=np.int64)
    offsets = np.empty((nstr, rows + 1), dtype=np.int32)
    chars = _scratch(nstr, len(block))
    valid = np.empty((ncols, rows), dtype=np.uint8)
    nulls = np.zeros(ncols, dtype=np.int64)
    enums = (plan.allowed, plan.allowed_len, plan.first, plan.last)
    sizes = (ncols, rows, chars.shape[1], plan.allowed.shape[1])
    if (
        _tokenizer.tokenize(block, kinds, slots, i32, i64, offsets, chars, valid, nulls, *enums, *sizes)
        != rows
    ):
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
