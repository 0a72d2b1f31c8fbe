"""`vpcflow query`, `vpcflow insights`, `vpcflow athena ddl`: the query layer on the command line."""

from __future__ import annotations

import enum
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq
import typer

from vpcflow.commands.engine_options import (
    AthenaDatabaseOpt,
    AthenaFormat,
    AthenaFormatOpt,
    AthenaLocationOpt,
    AthenaLogFormatOpt,
    AthenaOutputOpt,
    AthenaProjectionOpt,
    AthenaTableOpt,
    AthenaWorkgroupOpt,
    EngineChoice,
    EngineName,
    EngineOpt,
    ProfileOpt,
    RegionOpt,
    SparkMasterOpt,
)
from vpcflow.commands.output import OutputFormat, render_batches
from vpcflow.errors import QueryError
from vpcflow.query import open_engine, run_insights, run_sql
from vpcflow.query.athena_ddl import create_table, find_partitions


class QueryOutput(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    parquet = "parquet"


class Dialect(enum.StrEnum):
    athena = "athena"
    duckdb = "duckdb"


class DdlFormat(enum.StrEnum):
    text = "text"
    parquet = "parquet"


LakeOption = typer.Option(..., "--lake", help="The lake folder (written by `vpcflow ingest`).")
OutputOption = typer.Option(
    QueryOutput.table, "--output", "-o", help="table, json (one object a line), csv or parquet."
)
OutFileOption = typer.Option(
    None, "--out", help="Write the result to this file (required for --output parquet)."
)
SqlArgument = typer.Argument(
    None, metavar="SQL", help="One SQL statement; omit it to open the interactive prompt."
)
DialectOpt = typer.Option(
    Dialect.athena, "--dialect", help="athena (Trino SQL, translated) or duckdb (as is)."
)
QueryArgument = typer.Argument(..., metavar="QUERY", help="A CloudWatch Logs Insights query.")
SinceOpt = typer.Option(None, "--since", help="Start of the time range (ISO 8601, UTC if no zone).")
UntilOpt = typer.Option(None, "--until", help="End of the time range, exclusive.")
DefaultLimitOpt = typer.Option(1000, "--default-limit", help="Rows when the query has no limit (AWS: 1000).")
MessageFormatOpt = typer.Option(
    None, "--message-format", help="Log format of @message (default format otherwise)."
)
LocationOpt = typer.Option(
    ..., "--location", help="s3://bucket/prefix/AWSLogs/{account}/vpcflowlogs/{region}/"
)
FileFormatOpt = typer.Option(DdlFormat.text, "--format", help="text (plain/gzip) or parquet delivery.")
LogFormatOpt = typer.Option(
    None, "--log-format", help="The flow log's format (default: every v2-v5 field, AWS's table)."
)
ProjectionOpt = typer.Option(
    False, "--projection", help="Partition projection instead of ADD PARTITION statements."
)
PartitionsFromOpt = typer.Option(
    None, "--partitions-from", help="A local copy of the S3 layout, or a lake: add its partitions."
)
TableOpt = typer.Option(None, "--table", help="Table name (default: AWS's example names).")


def render(table: pa.Table, output: str, out: IO[str] | None = None) -> None:
    render_batches(
        table.to_batches() or [pa.RecordBatch.from_pylist([], schema=table.schema)], OutputFormat(output), out
    )


def _emit(table: pa.Table, output: QueryOutput, out_file: Path | None) -> None:
    if output is QueryOutput.parquet:
        if out_file is None:
            raise QueryError("--output parquet writes a file: give --out FILE.parquet")
        pq.write_table(table, out_file, compression="zstd")
        typer.echo(f"{table.num_rows} rows written to {out_file}", err=True)
        return
    if out_file is not None:
        with open(out_file, "w", encoding="utf-8", newline="") as handle:
            render(table, output.value, handle)
        return
    if table.num_rows == 0 and output is QueryOutput.table:
        sys.stdout.write("(no rows)\n")
        return
    render(table, output.value)


QueryLakeOption = typer.Option(
    None,
    "--lake",
    help="The lake folder (written by `vpcflow ingest`); spark also reads s3a://bucket/prefix.",
)
EstimateOpt = typer.Option(
    False,
    "--estimate",
    help="athena: print the bytes Athena would scan and the price, from --lake, and run nothing.",
)


def query(
    sql: str | None = SqlArgument,
    lake: str | None = QueryLakeOption,
    dialect: Dialect = DialectOpt,
    output: QueryOutput = OutputOption,
    out: Path | None = OutFileOption,
    engine_name: EngineName = EngineOpt,
    spark_master: str = SparkMasterOpt,
    athena_location: str | None = AthenaLocationOpt,
    athena_format: AthenaFormat = AthenaFormatOpt,
    athena_projection: bool = AthenaProjectionOpt,
    athena_log_format: str | None = AthenaLogFormatOpt,
    athena_table: str | None = AthenaTableOpt,
    athena_database: str = AthenaDatabaseOpt,
    athena_output: str | None = AthenaOutputOpt,
    athena_workgroup: str | None = AthenaWorkgroupOpt,
    region: str | None = RegionOpt,
    profile: str | None = ProfileOpt,
    estimate: bool = EstimateOpt,
) -> None:
    """Run Athena SQL over a lake on embedded DuckDB (tables vpc_flow_logs, test_table_vpclogs,
    tgw_flow_logs), on Spark or on Amazon Athena (--engine); with no SQL, open an interactive prompt."""
    choice = EngineChoice(engine_name, spark_master, athena_location, athena_format, athena_projection,
                          athena_log_format, athena_table, athena_database, athena_output, athena_workgroup,
                          region, profile)  # fmt: skip
    if estimate:
        _estimate(sql, lake, dialect, engine_name)
        return
    engine = choice.open(lake)
    try:
        if sql is None:
            from vpcflow.query.repl import Repl

            if engine_name is not EngineName.duckdb:
                raise QueryError(
                    "the interactive prompt runs on DuckDB: give SQL with --engine " + engine_name.value
                )
            output_name = output.value if output is not QueryOutput.parquet else "table"
            raise typer.Exit(
                Repl(engine, Path(lake), render, dialect=dialect.value, output=output_name).run()
            )
        _emit(run_sql(engine, sql, dialect.value), output, out)
        for note in getattr(engine, "notes", []):
            typer.echo(note, err=True)
        if engine_name is EngineName.athena:
            from vpcflow.query.athena_cost import PRICE_PER_TB, TB

            scanned = engine.scanned_bytes
            typer.echo(f"Athena scanned {scanned:,} bytes (about ${scanned / TB * PRICE_PER_TB:.6f} at "
                       f"${PRICE_PER_TB:.2f}/TB before the 10 MB minimum)", err=True)  # fmt: skip
    finally:
        engine.close()


def _estimate(sql: str | None, lake: str | None, dialect: Dialect, engine_name: EngineName) -> None:
    from vpcflow.query.athena_cost import estimate

    if engine_name is not EngineName.athena:
        raise QueryError("--estimate prices a query on Athena: add --engine athena")
    if sql is None or lake is None or "://" in lake:
        raise QueryError(
            "--estimate needs SQL and --lake DIR (a local lake: its Parquet footers give the sizes)"
        )
    if dialect is not Dialect.athena:
        raise QueryError("--estimate reads Athena SQL: drop --dialect duckdb")
    typer.echo(estimate(lake, sql).text())


def _when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(f"{option} {text!r}: give an ISO-8601 time such as 2026-11-24T10:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def insights(
    query: str = QueryArgument,
    lake: Path = LakeOption,
    since: str | None = SinceOpt,
    until: str | None = UntilOpt,
    default_limit: int = DefaultLimitOpt,
    message_format: str | None = MessageFormatOpt,
    output: QueryOutput = OutputOption,
    out: Path | None = OutFileOption,
) -> None:
    """Run a CloudWatch Logs Insights query over a lake's VPC flow logs."""
    engine = open_engine(lake)
    try:
        table = run_insights(engine, query, default_limit=default_limit, message_format=message_format,
                             since=_when(since, "--since"), until=_when(until, "--until"))  # fmt: skip
        _emit(table, output, out)
    finally:
        engine.close()


athena_app = typer.Typer(help="Athena, for flow logs that live in S3.", no_args_is_help=True)


@athena_app.command("ddl")
def ddl(
    location: str = LocationOpt,
    file_format: DdlFormat = FileFormatOpt,
    log_format: str | None = LogFormatOpt,
    projection: bool = ProjectionOpt,
    partitions_from: Path | None = PartitionsFromOpt,
    table: str | None = TableOpt,
) -> None:
    """Print CREATE EXTERNAL TABLE for flow logs in S3, and its partitions (ALTER TABLE ADD
    PARTITION for those found with --partitions-from, or partition projection)."""
    found = find_partitions(partitions_from) if partitions_from else []
    typer.echo(create_table(location, file_format=file_format.value, log_format=log_format, table=table,
                            projection=projection, partitions=found), nl=False)  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command()(query)
    app.command()(insights)
    app.add_typer(athena_app, name="athena")
