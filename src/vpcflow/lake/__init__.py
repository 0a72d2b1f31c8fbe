"""vpcflow.lake: flow logs in a Hive-partitioned Parquet lake that DuckDB and Athena both read.

Public surface:
    ingest(sources, lake_root, options, progress) -> IngestResult
    IngestOptions, IngestResult, FileSizes
    Source (the seam for S3 and CloudWatch Logs), SourceObject, LocalSource, local_sources
    Lake, Partition, TABLES (the on-disk layout the query layer reads)
"""

from vpcflow.lake.ingest import IngestOptions, IngestResult, ingest
from vpcflow.lake.layout import TABLES, Lake, Partition
from vpcflow.lake.sources import LocalSource, Source, SourceObject, local_sources
from vpcflow.lake.writer import FileSizes

__all__ = [
    "TABLES",
    "FileSizes",
    "IngestOptions",
    "IngestResult",
    "Lake",
    "LocalSource",
    "Partition",
    "Source",
    "SourceObject",
    "ingest",
    "local_sources",
]
