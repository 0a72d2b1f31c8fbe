"""`vpcflow cat`, `vpcflow convert`, `vpcflow fields`: the record layer on the command line."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import typer

from vpcflow.commands.output import OutputFormat, OutputOption, render_batches, render_rows
from vpcflow.errors import InputError, RecordError, VpcflowError
from vpcflow.records.badrecords import OnError, Quarantine, ReadStats
from vpcflow.records.catalog import ALL_FIELDS
from vpcflow.records.formats import resolve_format
from vpcflow.records.parquet_codec import aws_schema
from vpcflow.records.reader import open_flow_log
from vpcflow.records.writer import write_text

LogFormatOption = typer.Option(
    None, "--log-format", help="Format of header-less records, e.g. '${version} ${vpc-id} ...' (default format otherwise)."
)
OnErrorOption = typer.Option(
    OnError.fail, "--on-error", help="fail: stop at the first bad record; skip: drop bad records; quarantine: keep them aside."
)
QuarantineOption = typer.Option(
    Path("vpcflow-quarantine"), "--quarantine-dir", help="Where --on-error quarantine writes bad lines and their origin."
)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; folders become every file below them (sorted), hidden ones left out."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            files.append(path)
    return files


def summarise(stats: ReadStats, on_error: OnError, quarantine: Quarantine | None) -> int:
    """Print the closing counts to stderr; the exit status: 1 when records were bad (unless skip).

    Under skip and quarantine the bad records kept for messages are named first (file, line,
    field), so reading on never hides what was wrong; under fail the error that stopped the read
    was printed already."""
    if on_error is not OnError.fail:
        for bad in stats.errors:
            typer.echo(f"error: {bad.error()}", err=True)
        if stats.bad > len(stats.errors) == stats.keep:
            typer.echo(f"error: ... the first {stats.keep} bad records shown", err=True)
    note = ""
    if quarantine is not None and stats.bad:
        note = f"; bad lines kept in {quarantine.directory}/"
    typer.echo(f"{stats.good} good records, {stats.bad} bad records in {stats.files} files{note}", err=True)
    return 1 if stats.bad and on_error is not OnError.skip else 0


def cat(
    paths: list[Path] = typer.Argument(..., help="Flow log files or folders (text, gzip, Parquet, CloudWatch Logs)."),
    log_format: str | None = LogFormatOption,
    on_error: OnError = OnErrorOption,
    quarantine_dir: Path = QuarantineOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Print flow log records; JSON keys are the Athena column names, '-' is null."""
    fmt = resolve_format(log_format) if log_format else None
    stats = ReadStats()
    quarantine = Quarantine(quarantine_dir) if on_error is OnError.quarantine else None
    try:
        for path in expand_paths(paths):
            try:
                flow = open_flow_log(path, fmt)
            except InputError as exc:  # a whole file unreadable counts as one bad input
                typer.echo(f"error: {exc}", err=True)
                stats.bad += 1
                if on_error is OnError.fail:
                    break
                continue
            try:
                render_batches(flow.batches(on_error, stats, quarantine), output, title=str(path))
            finally:
                flow.close()
    except RecordError as exc:
        typer.echo(f"error: {exc}", err=True)
        summarise(stats, on_error, quarantine)
        raise typer.Exit(1) from None
    finally:
        if quarantine is not None:
            quarantine.close()
    raise typer.Exit(summarise(stats, on_error, quarantine))


def convert(
    src: Path = typer.Argument(..., help="A flow log file: text, gzip text, Parquet or CloudWatch Logs."),
    dst: Path = typer.Argument(..., help="Output: .parquet (AWS's Parquet schema), .log or .log.gz (AWS text)."),
    log_format: str | None = LogFormatOption,
    on_error: OnError = OnErrorOption,
    quarantine_dir: Path = QuarantineOption,
) -> None:
    """Convert between AWS's text and Parquet deliveries, streaming."""
    stats = ReadStats()
    quarantine = Quarantine(quarantine_dir) if on_error is OnError.quarantine else None
    flow = open_flow_log(src, resolve_format(log_format) if log_format else None)
    try:
        batches = flow.batches(on_error, stats, quarantine)
        if dst.suffix == ".parquet":
            schema = aws_schema(flow.format)
            with pq.ParquetWriter(dst, schema, compression="gzip") as writer:
                for batch in batches:
                    writer.write_batch(batch.cast(schema))
        else:
            write_text(batches, dst, flow.format)
    except RecordError as exc:
        typer.echo(f"error: {exc}", err=True)
        summarise(stats, on_error, quarantine)
        raise typer.Exit(1) from None
    finally:
        flow.close()
        if quarantine is not None:
            quarantine.close()
    raise typer.Exit(summarise(stats, on_error, quarantine))


def fields(
    family: str = typer.Option("all", help="vpc, tgw (Transit Gateway) or all."),
    output: OutputFormat = OutputOption,
) -> None:
    """The catalog of every flow log field AWS documents."""
    if family not in ("all", "vpc", "tgw"):
        raise VpcflowError(f"--family must be vpc, tgw or all, not {family!r}")
    chosen = ALL_FIELDS if family == "all" else [f for f in ALL_FIELDS if f.family == family]
    rows = [
        {
            "field": f.format_token,
            "column": f.column,
            "version": f.version,
            "type": f.athena_type,
            "parquet": f.parquet_type,
            "family": f.family,
            "values": ", ".join(f.values) if len(f.values) <= 6 or output is not OutputFormat.table
            else ", ".join(f.values[:3]) + f", ... ({len(f.values)} in all)",
            "meaning": f.meaning,
        }
        for f in chosen
    ]
    if output is OutputFormat.table:
        rows = [{k: v for k, v in r.items() if k != "parquet"} for r in rows]
    render_rows(rows, output, title=f"{len(rows)} flow log fields")


def register(app: typer.Typer) -> None:
    app.command()(cat)
    app.command()(convert)
    app.command()(fields)

