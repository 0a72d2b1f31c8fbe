"""Blocks of whole lines from a text stream, and a small gzip file parsed start to end on one thread.

A gzip file is inflated by ISA-L in ~1 MiB pieces, each parsed as soon as it is inflated, while its
bytes are still in the core's cache (`parse_gzip_file`): on the benchmark's 7 MB objects this reads
~10% faster than inflating the whole file first (libdeflate, whose 28 MB of fresh output also costs
a page fault every 4 KiB) and parsing it afterwards. The reader runs it on the pool, one file per
task, so the files of a folder are read in parallel; bigger files and streams keep the block
pipeline (reader.py), whose memory does not grow with the file.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from isal import igzip

from vpcflow.records.text_codec import BlockResult, TextLayout, parse_block

PIECE_BYTES = 1 << 20  # of text: the blocks of a file parsed where it was inflated (fits in L2)
TRUNCATION = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


class Truncated(bytes):
    """The cut-off last line of a gzip stream that ended early."""

    reason: str

    def __new__(cls, tail: bytes, reason: str):
        obj = super().__new__(cls, tail)
        obj.reason = reason
        return obj


def line_blocks(stream: BinaryIO, head: bytes, size: int) -> Iterator[bytes]:
    """Blocks of whole lines, numbered later by the pipeline (counting newlines here would cost
    the main thread a pass over every byte). A cut-off stream ends with its complete lines, then
    its incomplete last line as a `Truncated` block."""
    carry = head
    while True:
        try:
            chunk = stream.read(size)
        except TRUNCATION as exc:
            cut = carry.rfind(b"\n") + 1
            if cut:
                yield carry[:cut]
            yield Truncated(carry[cut:], str(exc))
            return
        if not chunk:
            if carry:
                yield carry
            return
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry = data
            continue
        block, carry = data[:cut], data[cut:]
        yield block


def line_pieces(stream: BinaryIO, size: int) -> Iterator[memoryview]:
    """Pieces of whole lines, each a view of one reused buffer, valid only until the next one is
    asked for: the stream is inflated into the buffer, after the partial line carried over, so no
    byte is copied but that partial line (concatenating and slicing pieces cost a third of the
    time of inflating them). Ends like line_blocks on a cut-off stream."""
    buffer = bytearray(size)
    view, filled = memoryview(buffer), 0  # filled: the carried partial line at the buffer's start
    while True:
        if filled == len(buffer):  # a line longer than the buffer: a new buffer, twice as big
            # (not resized in place: the caller may still hold a view of this one)
            bigger = bytearray(2 * len(buffer))
            bigger[:filled] = view[:filled]
            buffer, view = bigger, memoryview(bigger)
        try:
            read = stream.readinto(view[filled:])
        except TRUNCATION as exc:
            cut = buffer.rfind(b"\n", 0, filled) + 1
            if cut:
                yield view[:cut]
            yield Truncated(bytes(view[cut:filled]), str(exc))
            return
        if not read:
            if filled:
                yield view[:filled]
            return
        end = filled + read
        cut = buffer.rfind(b"\n", 0, end) + 1
        if cut == 0:
            filled = end
            continue
        yield view[:cut]
        carry = bytes(view[cut:end])
        view[: len(carry)] = carry
        filled = len(carry)


def parse_gzip_file(path: str, skip: int, layout: TextLayout, name: str) -> list[BlockResult | Truncated]:
    """Every block of a gzip file after its first `skip` bytes of text (the header line), parsed
    in order on this thread; lines numbered from 1 in each block, as the pipeline expects."""
    results: list[BlockResult | Truncated] = []
    with igzip.open(path, "rb") as stream:
        stream.read(skip)  # read whole before: a header the reader already parsed
        for piece in line_pieces(stream, PIECE_BYTES):
            if isinstance(piece, Truncated):
                results.append(piece)
                break
            results.append(parse_block(piece, layout, name, 1, trusted=False))  # done with it here
    return results
