"""The `--engine` options `vpcflow query` and `vpcflow report` share, and the engine they describe."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

import typer

from vpcflow.errors import QueryError


class EngineName(enum.StrEnum):
    duckdb = "duckdb"
    spark = "spark"
    athena = "athena"


class AthenaFormat(enum.StrEnum):
    text = "text"
    parquet = "parquet"


EngineOpt = typer.Option(
    EngineName.duckdb,
    "--engine",
    help="duckdb (embedded), spark (PySpark) or athena (Amazon Athena): docs/scaling.md.",
)
SparkMasterOpt = typer.Option(
    "local[*]", "--spark-master", help="spark: the master URL (local[*], spark://host:7077, yarn, k8s://...)."
)
AthenaLocationOpt = typer.Option(
    None,
    "--athena-location",
    help="athena: where the flow logs are, s3://bucket/prefix/AWSLogs/{account}/vpcflowlogs/{region}/.",
)
AthenaFormatOpt = typer.Option(AthenaFormat.text, "--athena-format", help="athena: text or parquet delivery.")
AthenaProjectionOpt = typer.Option(
    False, "--athena-projection", help="athena: partition projection instead of ADD PARTITION."
)
AthenaLogFormatOpt = typer.Option(
    None, "--athena-log-format", help="athena: the flow log's format (default: AWS's v5 table)."
)
AthenaTableOpt = typer.Option(
    None, "--athena-table", help="athena: table name (default: AWS's example names)."
)
AthenaDatabaseOpt = typer.Option(
    "default", "--athena-database", help="athena: database (created if missing)."
)
AthenaOutputOpt = typer.Option(
    None, "--athena-output", help="athena: S3 location for query results (default: the workgroup's)."
)
AthenaWorkgroupOpt = typer.Option(None, "--athena-workgroup", help="athena: workgroup (default: primary).")
RegionOpt = typer.Option(None, "--region", help="athena: AWS Region (default: as the AWS CLI resolves it).")
ProfileOpt = typer.Option(
    None, "--profile", help="athena: AWS profile (default: as the AWS CLI resolves it)."
)


@dataclass(frozen=True)
class EngineChoice:
    """What the `--engine` options say; `open(lake)` makes the engine."""

    engine: EngineName = EngineName.duckdb
    spark_master: str = "local[*]"
    athena_location: str | None = None
    athena_format: AthenaFormat = AthenaFormat.text
    athena_projection: bool = False
    athena_log_format: str | None = None
    athena_table: str | None = None
    athena_database: str = "default"
    athena_output: str | None = None
    athena_workgroup: str | None = None
    region: str | None = None
    profile: str | None = None

    def athena_config(self, lake: str | None):
        from vpcflow.query.athena_ddl import find_partitions
        from vpcflow.query.engine_athena import AthenaConfig

        # A local lake, or a local copy of the S3 layout, lists the partitions to add.
        partitions = tuple(find_partitions(lake)) if lake and not self.athena_projection else ()
        return AthenaConfig(location=self.athena_location, file_format=self.athena_format.value,
                            projection=self.athena_projection, log_format=self.athena_log_format,
                            table=self.athena_table, partitions=partitions, database=self.athena_database,
                            output=self.athena_output, workgroup=self.athena_workgroup, region=self.region,
                            profile=self.profile)  # fmt: skip

    def open(self, lake: str | None):
        from vpcflow.query import open_engine

        if self.engine is EngineName.athena:
            return open_engine(None, "athena", config=self.athena_config(lake))
        if lake is None:
            raise QueryError(f"--engine {self.engine.value} reads a lake: give --lake DIR")
        if self.engine is EngineName.spark:
            return open_engine(lake, "spark", master=self.spark_master)
        if "://" in lake:
            raise QueryError(f"--lake {lake}: DuckDB reads a local lake; use --engine spark for s3a:// lakes")
        return open_engine(Path(lake))
