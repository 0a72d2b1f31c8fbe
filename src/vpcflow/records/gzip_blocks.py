"""Gzip files assembled from blocks deflated independently, on any thread (pigz's layout).

A block is raw deflate of one piece of text ending in a sync flush (byte-aligned, not final), so
blocks written one after another form one deflate stream; the file is a single gzip member - header,
blocks, an empty final block, CRC-32 and length - which any gunzip, zcat or gzip library reads. AWS
says only that "each file is compressed into a single Gzip file" (flowlogs.md §4.2): no level or
block layout is prescribed, so vpcflow uses ISA-L's fastest level.

Deflating a whole piece (a few MB of formatted records) as one task lets the shared pool format and
compress several pieces at once on every core, and the output depends only on where the pieces are
cut, never on thread timing: the same records give the same bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from isal import isal_zlib

GZIP_LEVEL = 1  # ISA-L's level 1 is both fast and as small as zlib's default on flow logs
# magic, deflate, no flags, mtime 0 (deterministic), no extra flags, OS unknown (255)
_HEADER = struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, 0, 0, 0, 0xFF)
_FINAL = isal_zlib.compress(b"", GZIP_LEVEL, -15)  # an empty final block ends the deflate stream


@dataclass(frozen=True)
class Block:
    """One piece of text, deflated: `data` continues any deflate stream that ends on a sync flush."""

    data: bytes
    crc: int  # CRC-32 of the uncompressed text
    size: int  # uncompressed bytes


def deflate_block(text: bytes, level: int = GZIP_LEVEL) -> Block:
    """Deflate `text` on the calling thread (ISA-L releases the GIL while it compresses)."""
    if not text:
        return Block(b"", 0, 0)
    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
    data = compressor.compress(text) + compressor.flush(isal_zlib.Z_SYNC_FLUSH)
    return Block(data, isal_zlib.crc32(text), len(text))


class GzipBlockWriter:
    """Writes one gzip member to `raw` from blocks given in order; `close` writes the trailer.

    `raw` stays open (the caller owns it) unless `close_raw` is set.
    """

    def __init__(self, raw: BinaryIO, *, close_raw: bool = False):
        self.raw = raw
        self.close_raw = close_raw
        self.crc = 0
        self.size = 0
        self.closed = False
        raw.write(_HEADER)

    def write_block(self, block: Block) -> None:
        if block.size:
            self.crc = isal_zlib.crc32_combine(self.crc, block.crc, block.size)
            self.size += block.size
            self.raw.write(block.data)

    def write(self, text: bytes) -> int:
        """Deflate and write `text` here (for small or occasional pieces)."""
        self.write_block(deflate_block(text))
        return len(text)

    def close(self, *, complete: bool = True) -> None:
        """End the member; `complete=False` (after an error) leaves it without its trailer, so a
        reader reports the file as truncated instead of taking part of it for the whole."""
        if self.closed:
            return
        self.closed = True
        try:
            if complete:
                self.raw.write(_FINAL + struct.pack("<II", self.crc, self.size & 0xFFFFFFFF))
        finally:
            if self.close_raw:
                self.raw.close()

    def __enter__(self) -> GzipBlockWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(complete=exc_type is None)
