"""`vpcflow demo`: the main job that `make run` runs, offline, on the embedded default.

Today it reads the sample flow logs shipped in examples/flowlogs/ (every kind the reader detects)
and summarises them; it grows into the whole lab as the simulator and the lake land.
"""

from __future__ import annotations

from pathlib import Path

import typer

from vpcflow.commands.output import OutputFormat, console, render_rows
from vpcflow.commands.records import expand_paths
from vpcflow.records.badrecords import ReadStats
from vpcflow.records.reader import open_flow_log
from vpcflow.reports.summary import summarise

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def demo(
    flowlogs: Path = typer.Option(None, help="Folder of sample flow logs to read (default: the shipped examples)."),
) -> None:
    """Run the vpcflow tour offline: read and summarise the sample flow logs."""
    out = console()
    out.rule("[bold]vpcflow demo")
    if flowlogs is None:
        flowlogs = next((p for p in (EXAMPLES / "flowlogs", EXAMPLES / "aws-docs") if p.exists()), EXAMPLES)
    if not flowlogs.exists():
        raise typer.BadParameter(f"{flowlogs} does not exist", param_hint="--flowlogs")
    stats, tables, kinds = ReadStats(), [], {}
    for path in expand_paths([flowlogs]):
        flow = open_flow_log(path)
        kinds[flow.kind.value] = kinds.get(flow.kind.value, 0) + 1
        try:
            batches = list(flow.batches("skip", stats))
        finally:
            flow.close()
        if batches:
            import pyarrow as pa

            tables.append(pa.Table.from_batches(batches))
    summary = summarise(tables)
    kind_text = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    out.print(f"Read {stats.files} files under {flowlogs} ({kind_text}): {stats.good:,} records, {stats.bad} bad.")
    out.print("Log status: " + ", ".join(f"{k} {v:,}" for k, v in summary.by_status.items()))
    out.print("Action:     " + ", ".join(f"{k} {v:,}" for k, v in summary.by_action.items()))
    render_rows(summary.top_rejected, OutputFormat.table, title="Who was rejected most (source, ports tried)")
    render_rows(summary.top_talkers, OutputFormat.table, title="Top talkers by bytes")
    out.print("\nNext: `vpcflow cat FILE -o json`, `vpcflow fields`, `vpcflow convert FILE out.parquet`.")


def register(app: typer.Typer) -> None:
    app.command()(demo)
