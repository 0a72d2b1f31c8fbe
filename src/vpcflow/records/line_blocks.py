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


def parse_gzip_file(path: str, skip: int, layout: TextLayout, name: str) -> list[BlockResult | Truncated]:
    """Every block of a gzip file after its first `skip` bytes of text (the header line), parsed
    in order on this thread; lines numbered from 1 in each block, as the pipeline expects."""
    results: list[BlockResult | Truncated] = []
    with igzip.open(path, "rb") as stream:
        stream.read(skip)  # read whole before: a header the reader already parsed
        for block in line_blocks(stream, b"", PIECE_BYTES):
            if isinstance(block, Truncated):
                results.append(block)
                break
            results.append(parse_block(block, layout, name, 1, trusted=False))
    return results
