"""The flow log record: field catalog, format strings, and the text/gzip/Parquet codecs."""

from vpcflow.records.catalog import ALL_FIELDS, ATHENA_COLUMNS, TGW_FIELDS, VPC_FIELDS, Field, lookup
from vpcflow.records.formats import DEFAULT_FORMAT, LogFormat, resolve_format

__all__ = [
    "ALL_FIELDS", "ATHENA_COLUMNS", "DEFAULT_FORMAT", "TGW_FIELDS", "VPC_FIELDS", "Field", "LogFormat",
    "lookup", "resolve_format",
]  # fmt: skip
