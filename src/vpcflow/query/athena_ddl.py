"""Athena DDL for flow logs in S3: CREATE EXTERNAL TABLE for a log format, and its partitions.

Follows AWS's three documented tables (spec §7.2-§7.4):
- text (default): the log format's columns, `PARTITIONED BY (`date` date)`, space-delimited, header
  skipped; partitions added one `ALTER TABLE ... ADD PARTITION` per day found;
- parquet: the same columns, Hive partitions `aws-account-id`, `aws-service`, `aws-region`, `year`,
  `month`, `day` (and `hour` when the data has hour folders), location `.../AWSLogs/`;
- projection: partition projection on `region` (enum) and `day` (date, `yyyy/MM/dd`), so no
  partition is ever added by hand.

Choices where AWS is silent:
- Columns and types come from the catalog (AWS's Athena names and types, `protocol bigint`); fields
  after v5 are `string`/`int` by the same rule (hyphens to underscores).
- AWS's projection example drops the `region` data column because `region` is a partition key. For
  Parquet (columns read by name) we do the same; for text (columns read by position) dropping it
  would shift every later column, so the data column stays, named `record_region`.
- Text tables with hour folders: partitions stay daily (`date`), located at the day's folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vpcflow.errors import QueryError
from vpcflow.records.formats import ATHENA_V5_FORMAT, LogFormat
from vpcflow.records.s3layout import SERVICE, find_flow_log_objects

_QUOTE_ALWAYS = {"end", "date"}  # AWS quotes these in its DDL; the rest parse unquoted
_LOCATION = re.compile(
    r"^(?P<root>s3://.+?/AWSLogs/)(?P<account>[^/]+)/" + SERVICE + r"/(?P<region>[^/]+)/?$"
)
_TEMPLATE = re.compile(r"^\{.*\}$")


@dataclass(frozen=True, order=True)
class FoundPartition:
    account: str
    region: str
    year: str
    month: str
    day: str
    hour: str | None = None


def _col(name: str) -> str:
    return f"`{name}`" if name in _QUOTE_ALWAYS else name


def _columns(fmt: LogFormat, *, drop: set[str] = frozenset(), rename: dict | None = None) -> str:
    rename = rename or {}
    lines = [
        f"  {_col(rename.get(f.column, f.column))} {f.athena_type}"
        for f in fmt.fields
        if f.column not in drop
    ]
    return ",\n".join(lines)


def _parse_location(location: str) -> re.Match | None:
    return _LOCATION.match(location.strip())


def _is_concrete(value: str) -> bool:
    return not _TEMPLATE.match(value)


def create_table(
    location: str,
    *,
    file_format: str = "text",
    log_format: str | None = None,
    table: str | None = None,
    projection: bool = False,
    partitions: list[FoundPartition] | None = None,
) -> str:
    """The CREATE EXTERNAL TABLE statement (and its partitions) for flow logs at `location`."""
    fmt = LogFormat.parse(log_format or ATHENA_V5_FORMAT)
    if fmt.family != "vpc":
        raise QueryError(
            "athena ddl: Transit Gateway formats are not supported (AWS documents no TGW Athena table)"
        )
    partitions = sorted(partitions or [])
    where = _parse_location(location)
    if file_format not in ("text", "parquet"):
        raise QueryError(f"athena ddl: --format must be text or parquet, not {file_format!r}")
    if projection:
        return _projection(fmt, location, where, file_format, table or "vpc_flow_logs", partitions)
    if file_format == "parquet":
        return _parquet(fmt, location, where, table or "vpc_flow_logs_parquet", partitions)
    return _text(fmt, location, where, table or "vpc_flow_logs", partitions)


def _text(fmt, location, where, table, partitions) -> str:
    location = location if location.endswith("/") else location + "/"
    ddl = (f"CREATE EXTERNAL TABLE IF NOT EXISTS `{table}` (\n{_columns(fmt)}\n)\n"
           "PARTITIONED BY (`date` date)\nROW FORMAT DELIMITED\nFIELDS TERMINATED BY ' '\n"
           f"LOCATION '{location}'\nTBLPROPERTIES (\"skip.header.line.count\"=\"1\");\n")  # fmt: skip
    if where is not None:
        account, region = where["account"], where["region"]
        partitions = [p for p in partitions if (not _is_concrete(account) or p.account == account)
                      and (not _is_concrete(region) or p.region == region)]  # fmt: skip
    days = sorted({(p.year, p.month, p.day) for p in partitions})
    for year, month, day in days:
        ddl += (f"\nALTER TABLE `{table}` ADD IF NOT EXISTS PARTITION (`date`='{year}-{month}-{day}')\n"
                f"LOCATION '{location}{year}/{month}/{day}';\n")  # fmt: skip
    return ddl


def _parquet(fmt, location, where, table, partitions) -> str:
    root = where["root"] if where is not None else (location if location.endswith("/") else location + "/")
    hourly = any(p.hour is not None for p in partitions)
    keys = ["`aws-account-id` string", "`aws-service` string", "`aws-region` string",
            "`year` string", "`month` string", "`day` string"] + (["`hour` string"] if hourly else [])  # fmt: skip
    key_lines = ",\n  ".join(keys)
    ddl = (f"CREATE EXTERNAL TABLE IF NOT EXISTS `{table}` (\n{_columns(fmt)}\n)\n"
           f"PARTITIONED BY (\n  {key_lines}\n)\n"
           "ROW FORMAT SERDE\n  'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'\n"
           "STORED AS INPUTFORMAT\n  'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'\n"
           "OUTPUTFORMAT\n  'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'\n"
           f"LOCATION\n  '{root}'\nTBLPROPERTIES (\n  'EXTERNAL'='true',\n  'skip.header.line.count'='1'\n);\n")  # fmt: skip
    if not partitions:
        return (
            ddl + f"\n-- Hive-compatible prefixes: load every partition with\nMSCK REPAIR TABLE `{table}`;\n"
        )
    for p in partitions:
        values = [("aws-account-id", p.account), ("aws-service", SERVICE), ("aws-region", p.region),
                  ("year", p.year), ("month", p.month), ("day", p.day)]  # fmt: skip
        if hourly:
            values.append(("hour", p.hour or "00"))
        spec = ", ".join(f"`{k}`='{v}'" for k, v in values)
        path = "/".join(f"{k}={v}" for k, v in values)
        ddl += f"\nALTER TABLE `{table}` ADD IF NOT EXISTS PARTITION ({spec})\nLOCATION '{root}{path}/';\n"
    return ddl


def _projection(fmt, location, where, file_format, table, partitions) -> str:
    if where is None:
        raise QueryError(
            "athena ddl --projection: --location must look like s3://bucket/prefix/AWSLogs/{account}/vpcflowlogs/{region}/"
        )
    account, region = where["account"], where["region"]
    if not _is_concrete(account):
        raise QueryError(
            "athena ddl --projection: put the account ID in --location (projection needs one account)"
        )
    regions = sorted({p.region for p in partitions if p.account == account}) or (
        [region] if _is_concrete(region) else []
    )
    if not regions:
        raise QueryError(
            "athena ddl --projection: name a region in --location or give --partitions-from to find them"
        )
    first = min(
        (p for p in partitions if p.account == account), key=lambda p: (p.year, p.month, p.day), default=None
    )
    start = f"{first.year}/{first.month}/{first.day}" if first else "2021/01/01"  # AWS's example start
    base = f"{where['root']}{account}/{SERVICE}/"
    if file_format == "parquet":
        columns = _columns(fmt, drop={"region"})
        storage = ("ROW FORMAT SERDE\n  'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'\n"
                   "STORED AS INPUTFORMAT\n  'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'\n"
                   "OUTPUTFORMAT\n  'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'\n")  # fmt: skip
    else:
        columns = _columns(fmt, rename={"region": "record_region"})
        storage = "ROW FORMAT DELIMITED\nFIELDS TERMINATED BY ' '\n"
    return (f"CREATE EXTERNAL TABLE IF NOT EXISTS `{table}` (\n{columns}\n)\n"
            f"PARTITIONED BY (region string, day string)\n{storage}"
            f"LOCATION '{base}'\nTBLPROPERTIES\n(\n"
            '"skip.header.line.count"="1",\n"projection.enabled" = "true",\n'
            '"projection.region.type" = "enum",\n'
            f'"projection.region.values" = "{",".join(regions)}",\n'
            '"projection.day.type" = "date",\n'
            f'"projection.day.range" = "{start},NOW",\n'
            '"projection.day.format" = "yyyy/MM/dd",\n'
            f'"storage.location.template" = "{base}${{region}}/${{day}}"\n);\n')  # fmt: skip


def find_partitions(folder: str | Path) -> list[FoundPartition]:
    """Partitions of flow logs under `folder`: a local copy of the S3 layout, or a vpcflow lake."""
    root = Path(folder)
    if not root.is_dir():
        raise QueryError(f"{root}: no such folder for --partitions-from")
    found: set[FoundPartition] = set()
    lake = root / "vpc_flow_logs"
    if lake.is_dir():
        for path in lake.rglob("*.parquet"):
            parts = path.relative_to(lake).parts
            if any(p.startswith(("_", ".")) for p in parts):
                continue
            values = dict(p.split("=", 1) for p in parts[:-1] if "=" in p)
            if {"aws_account_id", "aws_region", "year", "month", "day"} <= values.keys():
                found.add(FoundPartition(values["aws_account_id"], values["aws_region"], values["year"],
                                         values["month"], values["day"], values.get("hour")))  # fmt: skip
    for _, key in find_flow_log_objects(root):
        found.add(
            FoundPartition(
                key.account, key.region, key.year, key.month, key.day, key.hour if key.hourly else None
            )
        )
    return sorted(found)
