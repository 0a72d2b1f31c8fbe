"""`vpcflow ingest`: flow log files and folders into a Parquet lake (vpcflow.lake)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from vpcflow.commands.aws import (
    EndpointOption,
    ProfileOption,
    RegionOption,
    SinceOption,
    UntilOption,
    remote_options,
)
from vpcflow.lake import FileSizes, IngestOptions, IngestResult, ingest
from vpcflow.lake.sources_registry import close_sources, sources_for
from vpcflow.records.badrecords import OnError

SrcArgument = typer.Argument(
    ...,
    metavar="SRC...",
    help="Flow log files or folders (S3 layout, text, gzip, Parquet, CloudWatch Logs), s3://bucket/prefix, cwlogs://log-group or cwlogs://log-group/stream-prefix.",
)
LakeOption = typer.Option(..., "--lake", help="The lake folder (created if missing).")
HourlyOption = typer.Option(
    False, "--hourly", help="Partition by hour as well (fixed when the lake is created)."
)
LogFormatOption = typer.Option(
    None,
    "--log-format",
    help="Format of header-less records (CloudWatch Logs); the default format otherwise.",
)
OnErrorOption = typer.Option(
    OnError.fail,
    "--on-error",
    help="fail: stop at the first bad record; skip: drop bad records; quarantine: keep them aside.",
)
QuarantineOption = typer.Option(
    None,
    "--quarantine-dir",
    help="Where --on-error quarantine keeps bad lines (default LAKE/_vpcflow/quarantine).",
)
WaitOption = typer.Option(
    0.0,
    "--wait",
    help="Seconds to wait for another ingest into the same lake to finish (default: refuse at once).",
)
CommitOption = typer.Option(
    512,
    "--commit-mb",
    help="Input megabytes per transaction: what a crash can cost, and what is compacted together.",
)
RowGroupOption = typer.Option(
    FileSizes.row_group_rows, "--row-group-rows", help="Records per Parquet row group."
)
FileRowsOption = typer.Option(FileSizes.file_rows, "--file-rows", help="Records per Parquet file at most.")


def ingest_command(
    src: list[str] = SrcArgument,
    lake: Path = LakeOption,
    hourly: bool = HourlyOption,
    log_format: str | None = LogFormatOption,
    on_error: OnError = OnErrorOption,
    quarantine_dir: Path | None = QuarantineOption,
    wait: float = WaitOption,
    commit_mb: float = CommitOption,
    row_group_rows: int = RowGroupOption,
    file_rows: int = FileRowsOption,
    profile: str | None = ProfileOption,
    region: str | None = RegionOption,
    endpoint_url: str | None = EndpointOption,
    since: str | None = SinceOption,
    until: str | None = UntilOption,
) -> None:
    """Ingest flow logs into a Hive-partitioned Parquet lake, incrementally: objects already in the
    lake are skipped, and a crash at any moment loses nothing and duplicates nothing."""
    options = IngestOptions(
        hourly=hourly,
        log_format=log_format,
        on_error=on_error,
        quarantine_dir=quarantine_dir,
        wait=wait,
        sizes=FileSizes(row_group_rows=max(1, row_group_rows), file_rows=max(1, file_rows)),
        commit_bytes=max(1, int(commit_mb * (1 << 20))),
    )
    sources = sources_for(src, lake, remote_options(profile, region, endpoint_url, since, until, log_format))
    bar = IngestProgressBar() if sys.stderr.isatty() else None
    try:
        result = ingest(sources, lake, options, bar)
    finally:
        if bar is not None:
            bar.stop()
        close_sources(sources)
    raise typer.Exit(report(result, on_error))


def report(result: IngestResult, on_error: OnError, out=None) -> int:
    """The closing summary on stderr; the exit status (1 when stopped by, or left with, bad records)."""
    out = out or sys.stderr
    lines = []
    if result.recovered:
        lines.append(f"finished {len(result.recovered)} transaction(s) left by an interrupted ingest")
    if result.error is not None:
        lines.append(f"error: {result.error}")
        lines.append(
            "stopped: the objects of the interrupted transaction are not in the lake; fix or skip them and run again"
        )
    lines.append(
        f"ingested {result.records:,} records from {result.objects_read:,} objects in {result.seconds:.1f} s "
        f"({result.records_per_second:,.0f} records/s); {result.objects_already:,} objects were already in the lake"
    )
    if result.objects_read:
        lines.append(
            f"wrote {result.files_written:,} files ({result.bytes_written / 1e6:,.1f} MB) in "
            f"{len(result.partitions):,} partitions of {result.lake}"
        )
    if result.compacted:
        lines.append(f"merged {result.compacted:,} small files left by earlier ingests")
    if result.bad:
        kept = f"; bad lines kept in {result.quarantine}/" if result.quarantine else ""
        lines.append(f"{result.bad:,} bad records ({on_error.value}){kept}")
        for bad in result.errors[:3]:
            lines.append(f"  {bad.message()}")
    if result.changed:
        shown = ", ".join(result.changed[:3]) + (", ..." if len(result.changed) > 3 else "")
        lines.append(
            f"{len(result.changed):,} objects changed since they were ingested and were not read again "
            f"(their records are already in the lake): {shown}"
        )
    out.write("\n".join(lines) + "\n")
    if result.error is not None:
        return 1
    return 1 if result.bad and on_error is not OnError.skip else 0


class _CountsColumn(ProgressColumn):
    """`n/N objects  R records  X records/s`, from the task's fields."""

    def __init__(self, started: float):
        super().__init__()
        self.started = started

    def render(self, task) -> Text:
        records = task.fields["records"]
        rate = records / max(1e-9, time.monotonic() - self.started)
        return Text(
            f"{task.fields['done']:,}/{task.fields['objects']:,} objects  {records:,} records  {rate:,.0f} records/s"
        )


class IngestProgressBar:
    """A rich progress bar for a terminal: bytes read as the bar, objects, records, records/s."""

    def __init__(self, console: Console | None = None):
        self.progress = Progress(
            TextColumn("ingest"),
            BarColumn(),
            _CountsColumn(time.monotonic()),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=True,
        )
        self.task = None
        self.records = 0
        self.done = 0

    def start(self, objects: int, size: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("ingest", total=max(1, size), objects=objects, done=0, records=0)

    def advance(self, *, objects: int = 0, records: int = 0, size: int = 0) -> None:
        self.records += records
        self.done += objects
        self.progress.update(self.task, advance=size, records=self.records, done=self.done)

    def stop(self) -> None:
        self.progress.stop()


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)
