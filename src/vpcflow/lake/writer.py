"""The Parquet files of one transaction: a file per partition, rolled over at a size.

Records are buffered per partition and written as whole row groups, so that many small inputs
(AWS writes a file per flow log every 5 minutes) become a few large files instead of thousands of
tiny ones. Memory stays bounded: when the buffers together pass `buffer_bytes`, the largest is
written early as a smaller row group.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vpcflow.lake.commit import crashpoint, temp_dir
from vpcflow.lake.layout import Lake, Partition, table_schema


@dataclass(frozen=True)
class FileSizes:
    """Sizes of what ingest writes. Defaults: row groups of 1M records (~10-20 MB in zstd: big
    enough for fast scans, enough of them for DuckDB to read one file on several threads), files
    of up to 8M records (~100-150 MB), 256 MB of Arrow buffers at most."""

    row_group_rows: int = 1 << 20
    file_rows: int = 8 << 20
    buffer_bytes: int = 256 << 20
    compression_level: int = 3


@dataclass
class _OpenFile:
    partition: Partition
    seq: int
    tmp: Path
    writer: pq.ParquetWriter | None = None
    rows: int = 0  # written to the file
    pending: list[pa.RecordBatch] = field(default_factory=list)
    pending_rows: int = 0
    pending_bytes: int = 0


class TxnWriter:
    def __init__(self, lake: Lake, txn: str, sizes: FileSizes | None = None):
        self.lake, self.txn = lake, txn
        self.sizes = sizes or FileSizes()
        self._open: dict[Partition, _OpenFile] = {}
        self._done: list[dict] = []
        self._seq = 0
        self._buffered = 0
        self.rows = 0

    def add(self, partition: Partition, batch: pa.RecordBatch) -> None:
        current = self._open.get(partition)
        if current is None:
            current = self._open[partition] = self._new_file(partition)
        current.pending.append(batch)
        current.pending_rows += batch.num_rows
        current.pending_bytes += batch.nbytes
        self._buffered += batch.nbytes
        self.rows += batch.num_rows
        if current.pending_rows >= self.sizes.row_group_rows:
            self._flush(current)
        if self._buffered > self.sizes.buffer_bytes:
            self._flush(max(self._open.values(), key=lambda f: f.pending_bytes))

    def _new_file(self, partition: Partition) -> _OpenFile:
        self._seq += 1
        return _OpenFile(partition, self._seq, temp_dir(self.lake, self.txn) / f"{self._seq:05d}.parquet")

    def _flush(self, current: _OpenFile) -> None:
        if not current.pending:
            return
        table = pa.Table.from_batches(current.pending)
        self._buffered -= current.pending_bytes
        current.pending, current.pending_rows, current.pending_bytes = [], 0, 0
        start = 0
        while start < table.num_rows:
            room = self.sizes.file_rows - current.rows
            piece = table.slice(start, room)
            if current.writer is None:
                current.writer = pq.ParquetWriter(
                    current.tmp,
                    table_schema(current.partition.family),
                    compression="zstd",
                    compression_level=self.sizes.compression_level,
                    write_statistics=True,
                )
            current.writer.write_table(piece, row_group_size=self.sizes.row_group_rows)
            crashpoint("row-group-written")
            current.rows += piece.num_rows
            start += piece.num_rows
            if current.rows >= self.sizes.file_rows:
                self._finish(current)
                current = self._open[current.partition] = self._new_file(current.partition)

    def _finish(self, current: _OpenFile) -> None:
        if current.writer is None:
            return
        current.writer.close()
        with open(current.tmp, "rb+") as written:
            os.fsync(written.fileno())
        final = f"{current.partition.path}/part-{self.txn}-{current.seq:05d}.parquet"
        self._done.append(
            {
                "path": final,
                "tmp": str(current.tmp.relative_to(self.lake.root)),
                "rows": current.rows,
                "bytes": current.tmp.stat().st_size,
            }
        )
        current.writer = None

    def close(self) -> list[dict]:
        """Write what is buffered, close every file; the files to publish."""
        for current in list(self._open.values()):
            self._flush(current)
        for current in self._open.values():
            self._finish(current)
        self._open.clear()
        return sorted(self._done, key=lambda f: f["path"])

    def abort(self) -> None:
        for current in self._open.values():
            if current.writer is not None:
                current.writer.close()
        self._open.clear()
