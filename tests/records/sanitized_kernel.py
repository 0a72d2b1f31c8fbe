"""The tokenizer (_tokenizer.c) built with AddressSanitizer and UndefinedBehaviorSanitizer, and the
workload test_fastparse_sanitized.py runs it through, in a process of its own:

    LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 \\
        python -m tests.records.sanitized_kernel path/to/_tokenizer.so

The workload is test_fastparse.py itself (its kernel fixture's "sse2" cases, which run whatever
build is installed: here the sanitized one) plus the tests below, which push the kernel to its
edges: every cut of a block, numbers and enumerated values of every length as the last bytes of
the block, long values, degenerate blocks, every byte value at every position.

Every call reaches the kernel through a shim that makes its buffers end where their contents end,
so that a read or write one byte past is a sanitizer report, not a silent read of slack:
- the block is copied to an allocation of exactly its size (a bytes object has a NUL after its
  last byte; pyarrow's and the reader's blocks are views into bigger buffers);
- fastparse's scratch for string bytes is exactly as wide as the kernel may write (block + 16),
  instead of a reused 4 MB buffer, and its columns of numbers, offsets and null flags have room
  for exactly the rows the kernel is told it may write, instead of a reused bigger scratch;
- the call is repeated with each string column moved to the last row of a fresh, equally tight
  scratch (the rows are contiguous: only the last one ends at the end of the allocation), and
  must give the same result.
If the process dies in a sanitizer report, the block the kernel was reading is written to
$SANITIZED_KERNEL_INPUT (and its start printed), so the report comes with its input.

This file is a helper, not a test module: pytest collects it only when given it by name.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import subprocess
import sys
import sysconfig
import threading
import types
from pathlib import Path

import numpy as np
import pytest

from vpcflow.records import fastparse
from vpcflow.records.catalog import ALL_FIELDS, VPC_FIELDS
from vpcflow.records.formats import LogFormat
from vpcflow.records.text_codec import TextLayout

SANITIZE = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"]


def build(source: Path, out: Path, *, scalar: bool) -> Path:
    """_tokenizer.c compiled by gcc with the sanitizers (and -DVPC_NO_SIMD for the scalar loops).
    gcc itself, not setuptools' compiler: the process preloads gcc's libasan, and the sanitized
    objects must come from the same toolchain. Python's CFLAGS are left out on purpose: their
    -fwrapv would make signed overflow defined, and UBSan silent about it."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / ("_tokenizer_scalar.so" if scalar else "_tokenizer_sse2.so")
    command = ["gcc", "-shared", "-fPIC", "-O3", "-g", "-DNDEBUG", *SANITIZE]
    command += ["-DVPC_NO_SIMD=1"] if scalar else []
    command += ["-I", sysconfig.get_paths()["include"], str(source), "-o", str(target)]
    built = subprocess.run(command, capture_output=True, text=True)
    if built.returncode:
        raise RuntimeError(f"{' '.join(command)}\n{built.stdout}{built.stderr}")
    return target


# -- the shim ----------------------------------------------------------------------------------

STRING = fastparse.STRING
CALLS = [0]  # kernel calls made through the shim (rotations included)
_reading = threading.local()  # .block: the block of the thread's call in progress, for the death report


def _exact(data) -> np.ndarray:
    """A copy of the block in an allocation of exactly its size (empty: a pointer just past the
    end of one), so that the sanitizer sees the end of the block as the end of memory."""
    view = memoryview(data).cast("B")
    if not len(view):
        return np.empty(1, np.uint8)[1:]
    return np.frombuffer(view, np.uint8).copy()


def _tight_scratch(columns: int, size: int) -> np.ndarray:
    return np.empty((columns, size + fastparse._OVERRUN), dtype=np.uint8)


def _tight_rows(counts: dict, ncols: int, room: int) -> fastparse._Rows:
    """Room for exactly the rows the block can hold (the kernel is told that many), in fresh
    arrays of exactly that size, instead of a reused, bigger scratch."""
    shape = (counts[fastparse.INT32], counts[fastparse.INT64], counts[STRING], ncols)
    return fastparse._Rows.empty(shape, room)


def _rotations(real, result, data, kinds, slots, i32, i64, offsets, chars, valid, nulls, *rest):
    """The call again with each string column in turn in the last row of a tight scratch."""
    kinds, slots = np.asarray(kinds), np.asarray(slots)
    strings = np.flatnonzero(kinds == STRING)
    if len(strings) < 2 or sorted(slots[strings]) != list(range(len(strings))):
        return
    nstr, width = len(strings), len(data) + fastparse._OVERRUN
    again = [np.empty_like(i32), np.empty_like(i64), np.empty_like(offsets)]
    again += [np.empty((nstr, width), np.uint8), np.empty_like(valid), np.empty_like(nulls)]
    i32b, i64b, offsetsb, charsb, validb, nullsb = again
    for turn in range(1, nstr):
        moved = slots.copy()
        moved[strings] = (slots[strings] + turn) % nstr
        nullsb[:] = 0
        CALLS[0] += 1
        got = real.tokenize(data, kinds, moved, *again, *rest[:6], width, rest[7])
        assert got == result, ("the kernel's result depends on where its string columns are", turn)
        if result < 0:
            continue
        read = slice(0, result)  # the rows read (the room past them is never written)
        assert (i32b[:, read] == i32[:, read]).all() and (i64b[:, read] == i64[:, read]).all()
        assert (validb[:, read] == valid[:, read]).all() and (nullsb == nulls).all()
        for c in strings:
            k, m = slots[c], moved[c]
            assert (offsetsb[m, : result + 1] == offsets[k, : result + 1]).all()
            assert (charsb[m, : offsets[k, result]] == chars[k, : offsets[k, result]]).all()


def shim(real) -> types.ModuleType:
    """A stand-in for vpcflow.records._tokenizer that calls `real` (see the module docstring)."""
    module = types.ModuleType("vpcflow.records._tokenizer")
    module.__file__ = real.__file__

    def tokenize(data, *args):
        CALLS[0] += 1
        data = _reading.block = _exact(data)
        try:
            result = real.tokenize(data, *args)
            _rotations(real, result, data, *args)
            return result
        finally:
            _reading.block = None

    module.tokenize = tokenize
    return module


@ctypes.CFUNCTYPE(None)
def _on_death():
    """Called by the sanitizer runtime after its report, before the process exits."""
    block = getattr(_reading, "block", None)
    if block is None:
        return
    data = block.tobytes()
    path = os.environ.get("SANITIZED_KERNEL_INPUT")
    if path:
        Path(path).write_bytes(data)
    shown = repr(data) if len(data) <= 2000 else f"{data[:2000]!r}... ({len(data)} bytes)"
    # to the file descriptor: sys.stderr is pytest's capture, lost when the process exits
    os.write(2, f"\nsanitized_kernel: the kernel was reading this block (in {path}):\n{shown}\n".encode())


def _on_death_of_each_runtime():
    """ASan's runtime (preloaded) and UBSan's (loaded with the extension) each die on their own."""
    maps = Path("/proc/self/maps").read_text().split()
    libraries = {word for word in maps if "/libasan" in word or "/libubsan" in word}
    for library in sorted(libraries):
        ctypes.CDLL(library).__sanitizer_set_death_callback(_on_death)


def install(path: str) -> types.ModuleType:
    """Load the kernel at `path` and make it, behind the shim, the one fastparse calls."""
    import vpcflow.records

    spec = importlib.util.spec_from_file_location("_tokenizer", path)
    real = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(real)
    module = shim(real)
    sys.modules["vpcflow.records._tokenizer"] = module
    vpcflow.records._tokenizer = module
    fastparse._tokenizer = module
    fastparse._scratch = _tight_scratch
    fastparse._rows_scratch = _tight_rows
    _on_death_of_each_runtime()
    return real


# -- the extra workload ------------------------------------------------------------------------


def layout(text: str, leading: tuple[str, ...] = ()) -> TextLayout:
    return TextLayout(LogFormat.parse(text), leading)


# test_fastparse's helpers and data are imported where they are used: imported before pytest
# starts (by main), its asserts would not be rewritten.


def agrees(block: bytes, layout: TextLayout) -> bool:
    """Whether the kernel accepted the block; if it did, its batch must be pyarrow's."""
    from tests.records.test_fastparse import pyarrow_batch

    ours = fastparse.parse(block, layout)
    if ours is not None:
        theirs = pyarrow_batch(block, layout)
        assert ours.equals(theirs), block
        for column in ours.columns:
            column.validate(full=True)
    return ours is not None


CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-:./_"


def token(length: int, seed: int = 0) -> bytes:
    return bytes(CHARS[(seed + 7 * i) % len(CHARS)] for i in range(length))


def value_for(field, row: int) -> bytes:
    """A value of each kind of field, by row: nulls, extremes, short and long values."""
    if row % 5 == 4:
        return b"-"
    if field.strict and field.values:
        return field.values[row % len(field.values)].encode()
    if field.is_numeric:
        top = 2**31 - 1 if field.kind == "int32" else 2**63 - 1
        return str((top, 0, 7, top // 3)[row % 4]).encode()
    return token((1, 8, 15, 16, 17, 40)[row % 6] + row, seed=row)


def lines(fmt: LogFormat, rows: range) -> bytes:
    return b"".join(b" ".join(value_for(f, r) for f in fmt.fields) + b"\n" for r in rows)


EVERY_VPC_FIELD = LogFormat(VPC_FIELDS)
TGW = LogFormat.parse(" ".join(f.format_token for f in ALL_FIELDS if f.family == "tgw"))


@pytest.mark.parametrize("case", ["default", "leading", "every-vpc-field", "tgw"])
def test_a_block_cut_at_every_byte(case):
    """Each end of the block is a different last field cut short: in a number, an enumerated
    value, a long string; within 8 or 16 bytes of the end, or at a line's end."""
    from tests.records.test_fastparse import GOOD, LONG, NULLS

    block, layout = {
        "default": ((LONG + NULLS + GOOD) * 2, TextLayout(LogFormat.default())),
        "leading": (
            b"- " + GOOD + b"2024-01-01T00:00:00.000Z " + NULLS,
            TextLayout(LogFormat.default(), ("timestamp",)),
        ),
        "every-vpc-field": (lines(EVERY_VPC_FIELD, range(5)), TextLayout(EVERY_VPC_FIELD)),
        "tgw": (lines(TGW, range(5)), TextLayout(TGW)),
    }[case]
    accepted = sum(agrees(block[:end], layout) for end in range(len(block) + 1))
    assert accepted >= block.count(b"\n")


@pytest.mark.parametrize("newline", [b"", b"\n"])
def test_a_block_as_dense_as_a_block_can_be(newline):
    """Every field one byte: the block holds exactly the rows fastparse makes room for, so the
    room is tight and a write past the last row is a report."""
    dense = b"2 1 e 1 1 1 1 6 1 1 1 1 - -\n"  # 2 bytes a field, the fewest
    default = TextLayout(LogFormat.default())
    for rows in (1, 2, 3, 15, 16, 17, 1000):
        block = dense * rows
        block = block if newline else block[:-1]
        assert (len(block) + 1) // (2 * len(default.names)) == rows
        assert agrees(block, default)


NUMBERS = [b"9" * n for n in range(1, 22)] + [b"1" + b"0" * (n - 1) for n in range(1, 22)]
NUMBERS += [b"0" * (n - 1) + b"7" for n in range(1, 22)]
NUMBERS += [str(v).encode() for v in (2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64)]
NUMBERS += [b"-1", b"+1", b"1-", b"0x1f", b"1e3", b"1.5", b"/", b":", b"12345678/", b"1234567:9"]


def fits(number: bytes, kind: str) -> bool:
    digits, top = (10, 2**31 - 1) if kind == "int32" else (19, 2**63 - 1)
    return number.isdigit() and len(number) <= digits and int(number) <= top


@pytest.mark.parametrize("name, kind", [("srcport", "int32"), ("bytes", "int64")])
def test_numbers_of_every_length_at_every_distance_from_the_end(name, kind):
    """The SWAR path needs 16 readable bytes from a number's start; the loop takes the rest."""
    last, first = layout(f"${{interface-id}} ${{{name}}}"), layout(f"${{{name}}} ${{interface-id}}")
    for number in NUMBERS:
        ok = fits(number, kind)
        for line in (b"eni-1 " + number, b"e " + number + b"\n", b"e -\ne " + number):
            assert agrees(line, last) == ok, line
        for after in range(1, 18):
            line = number + b" " + token(after)
            assert agrees(line, first) == ok, line
            assert agrees(line + b"\n", first) == ok, line
        # a digit replaced by its neighbours in ASCII: '/' and ':' (the SWAR range check)
        for at in range(len(number)):
            for bad in b"/:":
                broken = number[:at] + bytes([bad]) + number[at + 1 :]
                assert not agrees(broken + b" x", first), broken
                assert not agrees(b"x " + broken, last), broken


STRICT = [f for f in ALL_FIELDS if f.strict and f.values and not f.is_numeric]


def candidates(field) -> set[bytes]:
    """Values of every length near the allowed ones: each allowed value, its prefixes, one byte
    more, one byte changed, every field's values, and runs of one letter up to 12 bytes."""
    found = {b"-"} | {b"A" * n for n in range(1, 13)}
    found |= {v.encode() for f in STRICT for v in f.values}
    for value in map(str.encode, field.values):
        found |= {value[:n] for n in range(1, len(value) + 1)}
        found |= {value + b"X", value + b"-", b"X" + value[1:], value[:-1] + b"x"}
    return found


@pytest.mark.parametrize("field", STRICT, ids=[f.token for f in STRICT])
def test_enumerated_values_of_every_length_near_eight_bytes(field):
    """A value of 8 bytes or fewer, with 8 readable, is compared as one word; at the end of the
    block it is compared byte by byte."""
    allowed = {v.encode() for v in field.values} | {b"-"}
    alone = layout(field.format_token)
    last = layout("${version} " + field.format_token)
    first = layout(field.format_token + " ${srcaddr}")  # a field of both families
    for value in sorted(candidates(field)):
        ok = value in allowed
        assert agrees(value, alone) == ok, value
        assert agrees(value + b"\n", alone) == ok, value
        assert agrees(b"-\n" + value, alone) == ok, value
        assert agrees(b"2 " + value, last) == ok, value
        for after in range(1, 10):
            assert agrees(value + b" " + token(after), first) == ok, (value, after)


@pytest.mark.parametrize("length", [*range(1, 70), 255, 256, 257, 4095, 4096, 4097, 65_537, 1_000_003])
def test_long_values_and_long_lines(length):
    """Values of every length over several 16-byte loads, last in the block or not."""
    fmt = layout("${interface-id} ${bytes} ${srcaddr} ${action}")
    value = token(length, seed=length)
    assert agrees(b"eni-1 12 " + value + b" ACCEPT", fmt)
    assert agrees(value + b" 9223372036854775807 - REJECT\n", fmt)
    assert agrees(
        b"- - - -\n" + b"x 1 x ACCEPT\n" + b"eni 0 a REJECT\n" + value + b" 1 " + value + b" ACCEPT", fmt
    )
    assert not agrees(b"eni-1 12 " + value + b"\x00 ACCEPT", fmt)


KINDS = [layout("${version}"), layout("${bytes}"), layout("${interface-id}"), layout("${log-status}")]
KINDS += [layout("${srcaddr} ${version}", ("timestamp",))]


DEGENERATE = [b"", b"\n", b"\n\n", b" ", b"  ", b"-", b"-\n", b"--", b"- -", b"- -\n", b" \n", b"\x00", b"\r\n", b"-\n\n"]  # fmt: skip


@pytest.mark.parametrize("fmt", KINDS, ids=["int32", "int64", "string", "enum", "leading"])
@pytest.mark.parametrize("block", DEGENERATE)
def test_empty_and_degenerate_blocks(block, fmt):
    agrees(block, fmt)


def test_the_kernel_on_an_empty_block():
    """parse() never hands the kernel an empty block; the kernel must still take one."""
    plan = fastparse._plan(TextLayout(LogFormat.default()))
    ncols, counts = len(plan.kinds), plan.counts
    empty = [np.empty((counts[1], 0), np.int32), np.empty((counts[2], 0), np.int64)]
    empty += [np.zeros((counts[3], 1), np.int32), np.empty((counts[3], 16), np.uint8)]
    empty += [np.empty((ncols, 0), np.uint8), np.zeros(ncols, np.int64)]
    enums = (plan.allowed, plan.allowed_len, plan.first, plan.last)
    kernel = fastparse._tokenizer
    assert (
        kernel.tokenize(b"", plan.kinds, plan.slots, *empty, *enums, ncols, 0, 16, plan.allowed.shape[1]) == 0
    )


@pytest.mark.parametrize("newline", [b"", b"\n"])
def test_every_byte_value_at_every_position(newline):
    """Each of the 256 byte values at each position of a line with a field of each kind."""
    fmt = layout("${version} ${interface-id} ${srcaddr} ${srcport} ${bytes} ${action} ${log-status}")
    line = b"2 eni-0a1b 10.0.0.1 443 8000 ACCEPT SKIPDATA" + newline
    assert agrees(line, fmt)
    for at in range(len(line)):
        for byte in range(256):  # most are declined; what is accepted, test_fastparse compares
            batch = fastparse.parse(line[:at] + bytes([byte]) + line[at + 1 :], fmt)
            assert batch is None or batch.num_rows == 1


# -- the run -----------------------------------------------------------------------------------


class NoHypothesisDatabase:
    """A pytest plugin: hypothesis keeps no examples from these runs (a crash would not save one)."""

    @staticmethod
    def pytest_configure(config):
        from hypothesis import settings

        settings.register_profile("sanitized", database=None)
        settings.load_profile("sanitized")


def main(argv: list[str]) -> int:
    """argv: the kernel to load (a path; "installed": the extension the package was built with)."""
    if argv[0] != "installed":
        real = install(argv[0])
    else:
        from vpcflow.records import _tokenizer as real

        install(real.__file__)
    here = Path(__file__).resolve()
    # capture=sys: a sanitizer writes to file descriptor 2; pytest's fd capture would lose it
    # when the process dies. "not scalar": the fixture's scalar case builds an unsanitized kernel.
    code = pytest.main(
        [str(here.with_name("test_fastparse.py")), str(here), "-k", "not scalar", "-p", "no:cacheprovider",
         "--capture=sys", "-q", "-x", "-o", "addopts="],
        plugins=[NoHypothesisDatabase()],
    )  # fmt: skip
    print(f"sanitized_kernel: {CALLS[0]} kernel calls to {real.__file__}")
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
