"""The Athena engine: the flow logs stay in S3, Amazon Athena runs the Athena SQL as written.

    engine = AthenaEngine(AthenaConfig(location="s3://b/AWSLogs/123456789012/vpcflowlogs/us-east-1/",
                                       output="s3://b/athena-results/", region="us-east-1"))
    run_sql(engine, "SELECT ... FROM vpc_flow_logs WHERE date = DATE('2026-11-24')")

Before its first query the engine sends, in order (`setup_statements()`, tested without AWS):
1. `CREATE DATABASE IF NOT EXISTS` the database (default `default`);
2. the `CREATE EXTERNAL TABLE IF NOT EXISTS` of `vpcflow.query.athena_ddl` for the location, format
   (text or parquet), log format and table name (AWS's three documented tables);
3. its partitions: with projection, none (Athena computes them); otherwise the partitions found in
   a local folder (a lake or a copy of the S3 layout), sent as `ALTER TABLE ... ADD IF NOT EXISTS`
   statements of up to `PARTITIONS_PER_STATEMENT` partitions each (one statement per partition
   would be one Athena round trip each), or `MSCK REPAIR TABLE` for Parquet without a list.

Then each query is one `StartQueryExecution` through PyAthena's Arrow cursor; the bytes Athena
reports as scanned are added up in `scanned_bytes`. Credentials, region and profile are resolved by
boto3 as the AWS CLI resolves them; none is ever printed. Running it needs an AWS account (and
costs money: docs/scaling.md); tests drive it through a fake connection (the `connect` seam).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from vpcflow.errors import QueryError
from vpcflow.query.athena_ddl import FoundPartition, create_table

INSTALL_HINT = "the Athena engine needs PyAthena: pip install 'vpcflow[athena]'"
PARTITIONS_PER_STATEMENT = 100
_ADD = re.compile(
    r"^ALTER TABLE (?P<table>`[^`]+`) ADD IF NOT EXISTS (?P<spec>PARTITION \(.*\)\s+LOCATION '.*')$", re.S
)
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class AthenaConfig:
    location: str | None = None  # s3://bucket/prefix/AWSLogs/{account}/vpcflowlogs/{region}/
    file_format: str = "text"  # text or parquet (how the flow log delivers)
    projection: bool = False
    log_format: str | None = None  # the flow log's format; default: AWS's v5 table
    table: str | None = None  # default: AWS's example names (athena_ddl)
    partitions: tuple[FoundPartition, ...] = field(default_factory=tuple)
    database: str = "default"
    output: str | None = None  # S3 location for query results (else the workgroup's)
    workgroup: str | None = None
    region: str | None = None
    profile: str | None = None
    create: bool = True  # send the DDL before the first query


def _pyathena_connect(config: AthenaConfig):
    try:
        from pyathena import connect
        from pyathena.arrow.cursor import ArrowCursor
    except ImportError:
        raise QueryError(INSTALL_HINT) from None
    options = {"schema_name": config.database, "cursor_class": ArrowCursor}
    for key, value in (("s3_staging_dir", config.output), ("work_group", config.workgroup),
                       ("region_name", config.region), ("profile_name", config.profile)):  # fmt: skip
        if value:
            options[key] = value
    return connect(**options)


class AthenaEngine:
    """Athena SQL on Amazon Athena over flow logs in S3; results as Arrow."""

    name = "athena"
    dialect = "athena"

    def __init__(self, config: AthenaConfig, *, connect: Callable[[AthenaConfig], object] | None = None):
        if config.create and not config.location:
            raise QueryError(
                "--engine athena: give --athena-location s3://bucket/prefix/AWSLogs/{account}/vpcflowlogs/{region}/"
            )
        if not _IDENTIFIER.match(config.database):
            raise QueryError(f"--athena-database {config.database!r}: letters, digits and _ only")
        self.config = config
        self._connect = connect or _pyathena_connect
        self._connection = None
        self._ready = False
        self.sent: list[str] = []  # every statement sent, in order
        self.scanned_bytes = 0
        self.notes: list[str] = []
        if config.create and config.file_format == "text" and not config.projection and not config.partitions:
            self.notes.append("the text table has no partition to add (give --lake, a lake or a local copy of "
                              "the S3 layout, or --athena-projection): queries see only partitions added before")  # fmt: skip

    @property
    def table(self) -> str:
        if self.config.table:
            return self.config.table
        return (
            "vpc_flow_logs_parquet"
            if self.config.file_format == "parquet" and not self.config.projection
            else "vpc_flow_logs"
        )

    def setup_statements(self) -> list[str]:
        """The statements sent before the first query, in order."""
        if not self.config.create:
            return []
        ddl = create_table(self.config.location, file_format=self.config.file_format, log_format=self.config.log_format,
                           table=self.config.table, projection=self.config.projection,
                           partitions=list(self.config.partitions))  # fmt: skip
        return [
            f"CREATE DATABASE IF NOT EXISTS `{self.config.database}`",
            *_batch_partitions(split_statements(ddl)),
        ]

    def _cursor(self):
        if self._connection is None:
            self._connection = self._connect(self.config)
        cursor = self._connection.cursor()
        if not self._ready:
            for statement in self.setup_statements():
                self._execute(cursor, statement)
            self._ready = True
        return cursor

    def _execute(self, cursor, sql: str):
        self.sent.append(sql)
        try:
            cursor.execute(sql)
        except QueryError:
            raise
        except Exception as exc:  # pyathena.error.* and botocore errors
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise QueryError(f"Athena: {first}") from None
        self.scanned_bytes += int(getattr(cursor, "data_scanned_in_bytes", 0) or 0)
        return cursor

    def query(self, sql: str) -> pa.Table:
        cursor = self._execute(self._cursor(), sql.strip().rstrip(";"))
        return cursor.as_arrow()

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        yield from self.query(sql).to_batches()

    def tables(self) -> list[str]:
        return [self.table]

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> AthenaEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def split_statements(ddl: str) -> list[str]:
    """The statements of `athena_ddl` output: `;`-terminated, `--` comment lines dropped."""
    statements = []
    for chunk in ddl.split(";\n"):
        lines = [line for line in chunk.strip().splitlines() if not line.lstrip().startswith("--")]
        text = "\n".join(lines).strip().rstrip(";").strip()
        if text:
            statements.append(text)
    return statements


def _batch_partitions(statements: list[str]) -> list[str]:
    """Consecutive single-partition ADDs to one table become one ADD of many (Athena's syntax:
    `ALTER TABLE t ADD IF NOT EXISTS PARTITION (...) LOCATION '...' PARTITION (...) LOCATION '...'`)."""
    out: list[str] = []
    table, specs = None, []

    def flush():
        for i in range(0, len(specs), PARTITIONS_PER_STATEMENT):
            out.append(
                f"ALTER TABLE {table} ADD IF NOT EXISTS\n"
                + "\n".join(specs[i : i + PARTITIONS_PER_STATEMENT])
            )

    for statement in statements:
        match = _ADD.match(statement)
        if match and (table is None or match["table"] == table):
            table = match["table"]
            specs.append(" ".join(match["spec"].split("\n")))
            continue
        if specs:
            flush()
            table, specs = None, []
        if match:
            table, specs = match["table"], [" ".join(match["spec"].split("\n"))]
            continue
        out.append(statement)
    if specs:
        flush()
    return out
