"""A gzip file's text that gives every byte zlib can inflate before the file is cut off or damaged.

Python's gzip readers (and ISA-L's, threaded or not) inflate in chunks and raise as soon as a chunk
fails, dropping what that chunk had already inflated: on a file cut off mid-way that was up to a
megabyte of complete lines, and the foundation issue says a bad record never costs a good one.
`GzipText` feeds ISA-L's decompressor a piece of the file at a time and keeps its output, so the
error surfaces only once everything before it has been read. Members follow each other as gzip
allows (zero padding between them is skipped, as Python's gzip module does).

`Recovering` keeps the fast threaded inflater for big files and, only if it fails, reads the file
again with `GzipText` from where the text stopped, so a damaged big file costs a second pass over
its start instead of its last good lines.
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import BinaryIO

from isal import isal_zlib

PIECE = 64 << 10  # compressed bytes a call: what a damaged (not just cut-off) piece can cost
GZIP = 31  # wbits: a gzip header and trailer
TRUNCATION = (EOFError, zlib.error, isal_zlib.error, gzip.BadGzipFile, OSError)


class GzipText(io.RawIOBase):
    """`salvage`: inflate with zlib, whose state can be copied, and when a piece fails feed it
    again a byte at a time from the copy, so that every byte before the failure is given: a file
    whose only damage is its checksum (in the trailer, after all its data) loses nothing. Slower
    than ISA-L, so only for a file already known to be damaged (Recovering)."""

    def __init__(self, raw: BinaryIO, salvage: bool = False):
        self._raw = raw
        self._salvage = salvage
        self._inflater = self._new_inflater()
        self._out = memoryview(b"")  # inflated, not read yet
        self._error: BaseException | None = None
        self._end = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._out:
            if self._error is not None:
                raise self._error
            if self._end:
                return 0
            try:
                self._out = memoryview(self._inflate())
            except TRUNCATION as exc:
                self._error = exc
        count = min(len(buffer), len(self._out))
        buffer[:count] = self._out[:count]
        self._out = self._out[count:]
        return count

    def _inflate(self) -> bytes:
        if self._inflater.eof:  # a member ended: another may follow, after zero padding
            rest = self._inflater.unused_data.lstrip(b"\0")
            while not rest:
                more = self._raw.read(PIECE)
                if not more:
                    self._end = True
                    return b""
                rest = more.lstrip(b"\0")
            self._inflater = self._new_inflater()
            return self._decompress(rest)
        data = self._raw.read(PIECE)
        if not data:
            raise EOFError("Compressed file ended before the end-of-stream marker was reached")
        return self._decompress(data)

    def _new_inflater(self):
        return zlib.decompressobj(GZIP) if self._salvage else isal_zlib.decompressobj(GZIP)

    def _decompress(self, data: bytes) -> bytes:
        if not self._salvage:
            return self._inflater.decompress(data)
        checkpoint = self._inflater.copy()
        try:
            return self._inflater.decompress(data)
        except zlib.error:
            self._inflater, out = checkpoint, []
            for i in range(len(data)):  # up to the byte that fails; the error after what came before it
                try:
                    out.append(self._inflater.decompress(data[i : i + 1]))
                except zlib.error as exc:
                    self._error = exc
                    break
            return b"".join(out)

    def close(self) -> None:
        self._raw.close()
        super().close()


class Recovering(io.RawIOBase):
    """`fast` (a threaded inflater over `path`) until it fails; then GzipText over the file again,
    from the text offset reached, so the failure comes only after every good byte."""

    def __init__(self, fast: BinaryIO, path: str):
        self._stream, self._path, self._offset, self._fast = fast, path, 0, True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            count = self._stream.readinto(buffer)
        except TRUNCATION:
            if not self._fast:
                raise
            self._stream.close()
            self._stream, self._fast = GzipText(open(self._path, "rb"), salvage=True), False  # noqa: SIM115
            skip(self._stream, self._offset)
            count = self._stream.readinto(buffer)
        self._offset += count
        return count

    def close(self) -> None:
        self._stream.close()
        super().close()


def read_upto(stream: BinaryIO, size: int) -> tuple[bytes, BaseException | None]:
    """Up to `size` bytes (fewer at the end), and the error that stopped the reading early, if
    any: what was read before it is returned, not dropped as a buffered `read(size)` would."""
    chunks, got = [], 0
    try:
        while got < size:
            chunk = stream.read(size - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    except TRUNCATION as exc:
        return b"".join(chunks), exc
    return chunks[0] if len(chunks) == 1 else b"".join(chunks), None


def skip(stream: BinaryIO, count: int) -> None:
    """Read and drop `count` bytes of text (fewer at the end of the stream)."""
    while count > 0:
        got = len(stream.read(min(count, 1 << 20)))
        if not got:
            return
        count -= got
