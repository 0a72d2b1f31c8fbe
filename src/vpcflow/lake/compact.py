"""Merging the small files that incremental ingests leave in a partition.

An ingest every few minutes adds a small file to each partition it touches; left alone, a day of
those is hundreds of tiny files, which DuckDB and Athena read slowly. After an ingest, a partition
it touched that holds `min_files` or more files smaller than a row group has them rewritten as one
(or a few, at the file size limit), through the same journal as ingest: the merged file is
published, then the small ones are deleted, then the manifest line is written. A crash in between is
rolled forward by the next ingest; until then a reader can see the merged records twice (the one
moment the lake is not exactly-once for readers; the files themselves never are lost or torn).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from vpcflow.lake.commit import new_txn_id, publish
from vpcflow.lake.layout import Lake, Partition
from vpcflow.lake.manifest import Manifest
from vpcflow.lake.writer import FileSizes, TxnWriter

MIN_FILES = 8


def compact(
    lake: Lake, manifest: Manifest, partitions: set[Partition], sizes: FileSizes, min_files: int = MIN_FILES
) -> int:
    """Merge small files in these partitions; returns how many files were merged away."""
    merged = 0
    for partition in sorted(partitions):
        folder = lake.root / partition.path
        small = [
            path
            for path in sorted(folder.glob("part-*.parquet"))
            if pq.ParquetFile(path).metadata.num_rows < sizes.row_group_rows
        ]
        if len(small) < min_files:
            continue
        txn = new_txn_id()
        writer = TxnWriter(lake, txn, sizes)
        for path in small:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=sizes.row_group_rows):
                writer.add(partition, batch)
        files = writer.close()
        removed = [str(Path(p).relative_to(lake.root)) for p in small]
        publish(lake, manifest, txn, files, [], removed=removed)
        merged += len(small)
    return merged
