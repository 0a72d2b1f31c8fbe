"""A single-pass tokenizer for blocks of flow log text, written in C (_tokenizer.c).

pyarrow's CSV reader is general (quoting, type inference, many null spellings) and was 92% of the
read time. Flow log text needs none of that: single spaces, one line per record, digits or '-' in
numeric fields. The kernel walks the bytes once, finding the separators 64 bytes at a time,
writing integers straight into their columns and string bytes and offsets as it goes, into
scratch columns this module keeps per thread (fresh pages for every block cost page faults);
the rows read are then copied out at their exact size and wrapped as an Arrow batch.

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
import pyarrow.compute as pc

from vpcflow.records import _tokenizer
from vpcflow.records.text_codec import LEADING

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


class _Rows(NamedTuple):
    """The kernel's columns, `room` rows each (a column's row k at k * room)."""

    room: int
    i32: np.ndarray
    i64: np.ndarray
    offsets: np.ndarray
    valid: np.ndarray

    @classmethod
    def empty(cls, shape: tuple[int, int, int, int], room: int) -> _Rows:
        n32, n64, nstr, ncols = shape
        return cls(
            room, np.empty((n32, room), dtype=np.int32), np.empty((n64, room), dtype=np.int64),
            np.empty((nstr, room + 1), dtype=np.int32), np.empty((ncols, room), dtype=np.uint8),
        )  # fmt: skip

    @property
    def shape(self) -> tuple[int, int, int, int]:  # columns of each array
        return self.i32.shape[0], self.i64.shape[0], self.offsets.shape[0], self.valid.shape[0]

    def fits(self, shape: tuple[int, int, int, int], room: int) -> bool:
        return self.room >= room and all(a >= b for a, b in zip(self.shape, shape, strict=True))


_KEPT_ROOM = 1 << 18  # rows: the room kept per thread, enough for the reader's blocks (4-5 MiB)


def _rows_scratch(counts: dict, ncols: int, room: int) -> _Rows:
    """Per thread, room for as many rows as a block can hold, kept for the next block like
    _scratch. The kernel counts rows as it reads them (a pass to count them first cost ~5% of the
    read), and the rows read are copied out at their exact size. An unusually big block gets room
    of its own, not kept."""
    shape = (counts[INT32], counts[INT64], counts[STRING], ncols)
    if room > _KEPT_ROOM:
        return _Rows.empty(shape, room)
    have = getattr(_LOCAL, "rows", None)
    if have is None or not have.fits(shape, room):
        shape = shape if have is None else tuple(max(a, b) for a, b in zip(shape, have.shape, strict=True))
        have = _LOCAL.rows = _Rows.empty(shape, _KEPT_ROOM)
    return have


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
        # A leading column is checked then dropped: kept as text while its values must match a
        # pattern (an export's timestamp), else only its bytes are checked.
        leading = i < len(layout.leading)
        kind = (STRING if layout.names[i] in LEADING else SKIP) if leading else _KINDS.get(t)
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
    ncols, nstr = len(kinds), counts[STRING]
    # A row is at least a byte and a separator a field: the most rows the block can hold.
    scratch = _rows_scratch(counts, ncols, (len(block) + 1) // (2 * ncols))
    chars = _scratch(nstr, len(block))
    nulls = np.zeros(ncols, dtype=np.int64)
    enums = (plan.allowed, plan.allowed_len, plan.first, plan.last)
    sizes = (ncols, scratch.room, chars.shape[1], plan.allowed.shape[1])
    columns = (scratch.i32, scratch.i64, scratch.offsets, chars, scratch.valid, nulls)
    rows = _tokenizer.tokenize(block, kinds, slots, *columns, *enums, *sizes)
    if rows < 0:
        return None
    i32 = scratch.i32[: counts[INT32], :rows].copy()  # each column's values, contiguous
    i64 = scratch.i64[: counts[INT64], :rows].copy()
    offsets = scratch.offsets[:nstr, : rows + 1].copy()
    valid = scratch.valid
    sizes = offsets[:, rows].astype(np.int64)
    bases = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    packed = np.empty(int(bases[-1]), dtype=np.uint8)
    for k in range(nstr):
        packed[bases[k] : bases[k + 1]] = chars[k, : sizes[k]]
    chars_buffer = pa.py_buffer(packed)
    for c in range(len(layout.leading)):  # leading values that do not match: the careful path names them
        if kinds[c] == STRING:
            k = slots[c]
            buffers = [None, pa.py_buffer(offsets[k]), chars_buffer.slice(int(bases[k]), int(sizes[k]))]
            values = pa.Array.from_buffers(pa.string(), rows, buffers, null_count=0)
            if not pc.all(pc.match_substring_regex(values, LEADING[layout.names[c]][0])).as_py():
                return None
    arrays = []
    for c in range(len(layout.leading), ncols):
        kind, k, null_count = kinds[c], slots[c], int(nulls[c])
        # Every value present: no bitmap at all, as pyarrow's own reader leaves it.
        bitmap = pa.py_buffer(np.packbits(valid[c, :rows], bitorder="little")) if null_count else None
        if kind == STRING:
            data_buffer = chars_buffer.slice(int(bases[k]), int(sizes[k]))
            buffers = [bitmap, pa.py_buffer(offsets[k]), data_buffer]
        else:
            buffers = [bitmap, pa.py_buffer(i32[k] if kind == INT32 else i64[k])]
        arrays.append(pa.Array.from_buffers(types[c], rows, buffers, null_count=null_count))
    return pa.RecordBatch.from_arrays(arrays, schema=layout.fmt.schema)
