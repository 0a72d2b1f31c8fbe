"""Blocks of whole lines from a text stream, and a small gzip file parsed start to end on one thread.

A gzip file is inflated by ISA-L (gzip_text.py) in ~1 MiB pieces, each parsed as soon as it is inflated, while its
bytes are still in the core's cache (`parse_gzip_file`): on the benchmark's 7 MB objects this reads
~10% faster than inflating the whole file first (libdeflate, whose 28 MB of fresh output also costs
a page fault every 4 KiB) and parsing it afterwards. The reader runs it on the pool, one file per
task, so the files of a folder are read in parallel; bigger files and streams keep the block
pipeline (reader.py), whose memory does not grow with the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from isal import igzip

from vpcflow.records.gzip_text import TRUNCATION, Recovering
from vpcflow.records.gzip_text import skip as skip_text
from vpcflow.records.text_codec import BlockResult, TextLayout, parse_block

PIECE_BYTES = 1 << 20  # of text: the blocks of a file parsed where it was inflated (fits in L2)


class Truncated(bytes):
    """The cut-off last line of a gzip stream that ended early."""

    reason: str

    def __new__(cls, tail: bytes, reason: str):
        obj = super().__new__(cls, tail)
        obj.reason = reason
        return obj


def line_blocks(stream: BinaryIO, head: bytes, size: int) -> Iterator[bytes]:
    """Blocks of whole lines of about `size`, each its own bytes (they are parsed on other
    threads), numbered later by the pipeline (counting newlines here would cost the main thread a
    pass over every byte). Ends like line_pieces on a cut-off stream."""
    for piece in line_pieces(stream, size, head):
        yield piece if isinstance(piece, Truncated) else bytes(piece)


def line_pieces(stream: BinaryIO, size: int, head: bytes = b"") -> Iterator[memoryview | Truncated]:
    """Pieces of whole lines (`head`, already read, first), each a view of one reused buffer,
    valid only until the next one is asked for: the stream is read into the buffer, after the
    partial line carried over, so no byte is copied but that partial line (concatenating and
    slicing pieces cost a third of the time of inflating them). A cut-off stream ends with its
    complete lines, then its incomplete last line as a `Truncated` piece: what the stream gave
    before its error is kept (a buffered `read(size)` would drop it)."""
    buffer = bytearray(max(size, len(head)))
    buffer[: len(head)] = head
    view, filled = memoryview(buffer), len(head)  # filled: text in the buffer, from its start
    while True:
        if filled == len(buffer):  # a line longer than the buffer: a new buffer, twice as big
            # (not resized in place: the caller may still hold a view of this one)
            bigger = bytearray(2 * len(buffer))
            bigger[:filled] = view[:filled]
            buffer, view = bigger, memoryview(bigger)
        error = None
        try:
            while filled < len(buffer):  # fill it: a reader may give less than asked
                read = stream.readinto(view[filled:])
                if not read:
                    break
                filled += read
        except TRUNCATION as exc:
            error = exc
        if error is not None or filled < len(buffer):  # the end, or as far as the text goes
            cut = buffer.rfind(b"\n", 0, filled) + 1 if error is not None else filled
            if cut:
                yield view[:cut]
            if error is not None:
                yield Truncated(bytes(view[cut:filled]), str(error))
            return
        cut = buffer.rfind(b"\n", 0, filled) + 1
        if cut == 0:
            continue  # no line end yet: grow
        yield view[:cut]
        carry = bytes(view[cut:filled])
        view[: len(carry)] = carry
        filled = len(carry)


def parse_gzip_file(path: str, skip: int, layout: TextLayout, name: str) -> list[BlockResult | Truncated]:
    """Every block of a gzip file after its first `skip` bytes of text (the header line), parsed
    in order on this thread; lines numbered from 1 in each block, as the pipeline expects."""
    results: list[BlockResult | Truncated] = []
    # ISA-L's own reader (C, inflating into the buffer) while the file is sound; GzipText again
    # from where it stopped if it is not, so every line before the damage is read.
    with Recovering(igzip.open(path, "rb"), path) as stream:
        skip_text(stream, skip)  # a header the reader already parsed
        for piece in line_pieces(stream, PIECE_BYTES):
            if isinstance(piece, Truncated):
                results.append(piece)
                break
            results.append(parse_block(piece, layout, name, 1, trusted=False))  # done with it here
    return results
