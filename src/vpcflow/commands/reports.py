"""`vpcflow report NAME`: answers over a lake (vpcflow.reports), as a table, JSON, CSV or an HTML page."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from vpcflow.commands.engine_options import (
    AthenaDatabaseOpt,
    AthenaFormat,
    AthenaFormatOpt,
    AthenaLocationOpt,
    AthenaLogFormatOpt,
    AthenaOutputOpt,
    AthenaTableOpt,
    AthenaWorkgroupOpt,
    EngineChoice,
    EngineName,
    EngineOpt,
    ProfileOpt,
    RegionOpt,
    SparkMasterOpt,
)
from vpcflow.commands.output import OutputFormat, OutputOption, render_batches
from vpcflow.reports import REPORTS, Options, Period, open_lake, parse_time, run_report
from vpcflow.reports.base import NAT_PRICE_PER_GB, ReportError, parse_duration

NameArgument = typer.Argument(..., metavar="NAME", help=f"The report: {', '.join(REPORTS)}.")
LakeOption = typer.Option(
    None, "--lake", help="The lake folder written by `vpcflow ingest` (spark: also s3a://bucket/prefix)."
)
ModelOption = typer.Option(
    None, "--model", help="VPC model (YAML file or folder); explain and sg-suggest need it."
)
SinceOption = typer.Option(
    None, "--since", help="Records ending at or after this UTC time (2026-11-24, 2026-11-24T10:00Z, Unix s)."
)
UntilOption = typer.Option(None, "--until", help="Records ending before this UTC time.")
HtmlOption = typer.Option(None, "--html", help="Also write a standalone HTML page with charts to this file.")
TopOption = typer.Option(50, "--top", help="Rows to show (per time bucket for top-talkers); 0 for all.")
WindowOption = typer.Option("5m", "--window", help="scanners: window length (300, 5m, 1h).")
MinPortsOption = typer.Option(
    15, "--min-ports", help="scanners: ports on one host that make a vertical scan."
)
MinHostsOption = typer.Option(
    25, "--min-hosts", help="scanners: hosts on one port that make a horizontal scan."
)
BucketOption = typer.Option(
    "1h", "--bucket", help="top-talkers: time bucket (15m, 1h, 1d; 0 for the whole period)."
)
ByOption = typer.Option("pair", "--by", help="top-talkers: pair (source and destination) or eni.")
RankByOption = typer.Option("bytes", "--rank-by", help="top-talkers: bytes or packets.")
IpRangesOption = typer.Option(
    None, "--ip-ranges", help="AWS ip-ranges.json (default: downloaded and cached)."
)
PriceOption = typer.Option(NAT_PRICE_PER_GB, "--price", help="nat-savings: NAT data processing USD per GB.")
SampleOption = typer.Option(100, "--sample", help="explain: REJECT records to explain at most.")


def report_command(
    name: str = NameArgument,
    lake: str | None = LakeOption,
    model: Path | None = ModelOption,
    since: str | None = SinceOption,
    until: str | None = UntilOption,
    output: OutputFormat = OutputOption,
    html: Path | None = HtmlOption,
    top: int = TopOption,
    window: str = WindowOption,
    min_ports: int = MinPortsOption,
    min_hosts: int = MinHostsOption,
    bucket: str = BucketOption,
    by: str = ByOption,
    rank_by: str = RankByOption,
    ip_ranges: Path | None = IpRangesOption,
    price: float = PriceOption,
    sample: int = SampleOption,
    engine_name: EngineName = EngineOpt,
    spark_master: str = SparkMasterOpt,
    athena_location: str | None = AthenaLocationOpt,
    athena_format: AthenaFormat = AthenaFormatOpt,
    athena_log_format: str | None = AthenaLogFormatOpt,
    athena_table: str | None = AthenaTableOpt,
    athena_database: str = AthenaDatabaseOpt,
    athena_output: str | None = AthenaOutputOpt,
    athena_workgroup: str | None = AthenaWorkgroupOpt,
    region: str | None = RegionOpt,
    profile: str | None = ProfileOpt,
) -> None:
    """Run one report over a lake: rejects, scanners, top-talkers, services, nat-savings, explain,
    sg-suggest."""
    period = Period(parse_time(since, option="--since"), parse_time(until, option="--until"))
    options = Options(
        period=period,
        top=top,
        window=parse_duration(window, option="--window") or 300,
        min_ports=min_ports,
        min_hosts=min_hosts,
        bucket=parse_duration(bucket, option="--bucket"),
        by=by,
        rank_by=rank_by,
        ip_ranges=ip_ranges,
        price_per_gb=price,
        model=_load_model(model) if model else None,
        sample=sample,
    )
    # Reports filter on the text table's `date` partition, so Athena runs them without projection.
    choice = EngineChoice(engine_name, spark_master, athena_location, athena_format, False, athena_log_format,
                          athena_table, athena_database, athena_output, athena_workgroup, region, profile)  # fmt: skip
    if engine_name is EngineName.duckdb and lake is None:
        raise ReportError("give --lake DIR (the lake written by `vpcflow ingest`)")
    remote = None if engine_name is EngineName.duckdb else choice.open(lake)
    try:
        source = open_lake(lake, engine=remote)
        result = run_report(name, source, options)
        _emit(result, output, html, source, period, lake, since, until)
    finally:
        if remote is not None:
            remote.close()
    sys.stdout.flush()


def _emit(result, output, html, source, period, lake, since, until) -> None:
    render_batches(result.table.to_batches() or [], output, title=result.title)
    if output is OutputFormat.table:
        for note in result.notes:
            typer.echo(note, err=True)
    if html:
        from vpcflow.reports.html import write_page
        from vpcflow.reports.overview import overview

        text = f"since {since or 'the start'} until {until or 'the end'}"
        write_page(html, result, overview(source, period), lake=str(lake), period_text=text)
        typer.echo(f"wrote {html}", err=True)


def _load_model(path: Path):
    from vpcflow.network import load_model

    return load_model(path)


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
