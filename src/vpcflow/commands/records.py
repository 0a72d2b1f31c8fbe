"""`vpcflow cat`, `vpcflow convert`, `vpcflow fields`: the record layer on the command line."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import typer

from vpcflow.commands.output import OutputFormat, OutputOption, render_batches, render_rows
from vpcflow.errors import InputError, RecordError, VpcflowError
from vpcflow.records.badrecords import BadRecord, OnError, Quarantine, ReadStats
from vpcflow.records.catalog import ALL_FIELDS
from vpcflow.records.formats import LogFormat, resolve_format
from vpcflow.records.parquet_codec import aws_schema
from vpcflow.records.reader import FlowLogInput, open_flow_log
from vpcflow.records.s3layout import FLOW_LOG_SUFFIXES, find_flow_log_files
from vpcflow.records.writer import write_text

LogFormatOption = typer.Option(
    None, "--log-format", help="Format of header-less records, e.g. '${version} ${vpc-id} ...' (default format otherwise)."
)
OnErrorOption = typer.Option(
    OnError.fail, "--on-error", help="fail: stop at the first bad record; skip: drop bad records; quarantine: keep them aside."
)
QUARANTINE = "vpcflow-quarantine"


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given (read whatever their name, `-` for standard input); folders become the flow log files below them
    (find_flow_log_files: by name, so the README beside them is not read as a bad flow log)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = find_flow_log_files(path)
            if not found:
                endings = ", ".join(FLOW_LOG_SUFFIXES)
                raise VpcflowError(
                    f"{path}: no flow log files in this folder (names ending {endings}); "
                    "name a file to read it whatever its name"
                )
            files += found
        else:
            files.append(path)
    return files


def open_input(
    path: Path, fmt: LogFormat | None, stats: ReadStats, quarantine: Quarantine | None
) -> FlowLogInput | None:
    """Open one input; None when it cannot be read at all (missing, empty, binary, no or unknown
    header). Such a file is a bad input like a bad line: named now, counted as a file read and a
    bad record, and under quarantine kept whole with its origin; the caller's policy decides the rest."""
    if quarantine is not None:
        quarantine.start(str(path))
    try:
        if str(path) == "-":  # standard input, streamed: `zcat x.gz | vpcflow cat -`
            return open_flow_log(sys.stdin.buffer, fmt, name="<stdin>")
        return open_flow_log(path, fmt)
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        stats.files += 1
        stats.bad += 1
        if quarantine is not None:
            quarantine.put_file(BadRecord.whole_file(str(path), exc))
        return None


def summarise(
    stats: ReadStats, on_error: OnError, quarantine: Quarantine | None, stopped: bool = False
) -> int:
    """Print the closing counts to stderr; the exit status: 1 when records were bad (unless skip)
    or a bad record stopped the command.

    Under skip and quarantine the bad records kept for messages are named first (file, line,
    field), so reading on never hides what was wrong; under fail the error that stopped the read
    was printed already, as is each whole file that could not be read."""
    if on_error is not OnError.fail:
        for bad in stats.errors:
            typer.echo(f"error: {bad.error()}", err=True)
        if stats.bad > len(stats.errors) == stats.keep:
            typer.echo(f"error: ... the first {stats.keep} bad records shown", err=True)
    note = ""
    if quarantine is not None and quarantine.written:  # only what was really kept
        note = f"; bad lines kept in {quarantine.directory}/"
    typer.echo(f"{stats.good} good records, {stats.bad} bad records in {stats.files} files{note}", err=True)
    return 1 if stopped or (stats.bad and on_error is not OnError.skip) else 0


def cat(
    paths: list[Path] = typer.Argument(..., help="Flow log files or folders (text, gzip, Parquet, CloudWatch Logs)."),
    log_format: str | None = LogFormatOption,
    on_error: OnError = OnErrorOption,
    quarantine_dir: Path = typer.Option(
        Path(QUARANTINE), "--quarantine-dir",
        help="Where --on-error quarantine keeps bad lines and unreadable files, with their origin.",
    ),  # fmt: skip
    output: OutputFormat = OutputOption,
) -> None:
    """Print flow log records; JSON keys are the Athena column names, '-' is null."""
    fmt = resolve_format(log_format) if log_format else None
    files = expand_paths(paths)
    stats = ReadStats()
    quarantine = Quarantine(quarantine_dir) if on_error is OnError.quarantine else None
    stopped = False
    try:
        for path in files:
            flow = open_input(path, fmt, stats, quarantine)
            if flow is None:
                if on_error is OnError.fail:
                    break
                continue
            try:
                render_batches(flow.batches(on_error, stats, quarantine), output, title=str(path))
            finally:
                flow.close()
    except RecordError as exc:
        typer.echo(f"error: {exc}", err=True)
        stopped = True
    finally:
        if quarantine is not None:
            quarantine.close()
    raise typer.Exit(summarise(stats, on_error, quarantine, stopped))


def _write_parquet(batches: Iterable[pa.RecordBatch], fmt: LogFormat, path: Path) -> None:
    schema = aws_schema(fmt)
    with pq.ParquetWriter(path, schema, compression="gzip") as writer:
        for batch in batches:
            writer.write_batch(batch.cast(schema))


# What convert writes, by DST's ending (the first that matches): AWS's two deliveries, and plain text.
OUTPUTS: dict[str, tuple[str, Callable[[Iterable[pa.RecordBatch], LogFormat, Path], object]]] = {
    ".parquet": ("AWS's Parquet delivery", _write_parquet),
    ".log.gz": ("gzip text", lambda batches, fmt, path: write_text(batches, path, fmt, gzip=True)),
    ".log": ("text", lambda batches, fmt, path: write_text(batches, path, fmt, gzip=False)),
}


def output_writer(dst: Path) -> Callable[[Iterable[pa.RecordBatch], LogFormat, Path], object]:
    """The writer DST's name asks for; a usage error (before anything is read) for any other name,
    a folder, or a folder that does not exist."""
    ending = next((e for e in OUTPUTS if dst.name.endswith(e)), None)
    if ending is None:
        known = ", ".join(f"{e} ({what})" for e, (what, _) in OUTPUTS.items())
        raise VpcflowError(f"{dst}: convert writes by DST's extension, one of {known}")
    if dst.is_dir():
        raise VpcflowError(f"{dst}: is a folder; give the output file's name")
    if not dst.parent.is_dir():
        raise VpcflowError(f"{dst}: no such folder {dst.parent}")
    return OUTPUTS[ending][1]


def write_atomically(dst: Path, write: Callable[[Path], object]) -> None:
    """Write through a hidden temporary file beside `dst`, renamed into place once `write` returns:
    a conversion that stops (a bad record under fail, an interrupt, a full disk) leaves no partial
    `dst`, and an earlier `dst` stays as it was. Beside it, so the rename is within one filesystem."""
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def convert(
    src: Path = typer.Argument(..., help="A flow log file: text, gzip text, Parquet or CloudWatch Logs."),
    dst: Path = typer.Argument(..., help="Output: .parquet (AWS's Parquet schema), .log or .log.gz (AWS text)."),
    log_format: str | None = LogFormatOption,
    on_error: OnError = OnErrorOption,
    quarantine_dir: Path | None = typer.Option(
        None, "--quarantine-dir",
        help="Where --on-error quarantine keeps bad lines and an unreadable SRC, with their origin "
        f"(default {QUARANTINE}/ beside DST).",
    ),  # fmt: skip
) -> None:
    """Convert between AWS's text and Parquet deliveries, streaming; DST appears only when complete."""
    write = output_writer(dst)
    fmt = resolve_format(log_format) if log_format else None
    stats = ReadStats()
    quarantine = None
    if on_error is OnError.quarantine:
        quarantine = Quarantine(quarantine_dir if quarantine_dir is not None else dst.parent / QUARANTINE)
    flow = None
    stopped = written = False
    try:
        flow = open_input(src, fmt, stats, quarantine)
        if flow is not None:
            batches = flow.batches(on_error, stats, quarantine)
            write_atomically(dst, lambda path: write(batches, flow.format, path))
            written = True
    except RecordError as exc:
        typer.echo(f"error: {exc}", err=True)
        stopped = True
    except OSError as exc:  # writing failed (a full disk): no partial DST either
        raise VpcflowError(f"{dst} not written: {exc}") from None
    finally:
        if flow is not None:
            flow.close()
        if quarantine is not None:
            quarantine.close()
    if stopped:
        stop = "the conversion stopped at a bad record (no partial file is left)"
        typer.echo(f"error: {dst} not written: {stop}", err=True)
    elif not written:
        typer.echo(f"error: {dst} not written: {src} has no records to convert", err=True)
    raise typer.Exit(summarise(stats, on_error, quarantine, stopped))


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
            "arrow_type": str(f.arrow_type),  # the column's type in what the readers return
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

