"""`vpcflow simulate`: traffic through a VPC model, delivered as AWS delivers flow logs."""

from __future__ import annotations

from pathlib import Path

import typer

from vpcflow.commands.output import OutputFormat, OutputOption, render_rows

ModelOption = typer.Option(..., "--model", help="The VPC model (YAML file or folder, docs/model.md).")
ScenarioOption = typer.Option(..., "--scenario", help="The traffic to simulate (docs/scenarios.md).")
OutOption = typer.Option(
    ...,
    "--out",
    help="Output folder: S3 objects under OUT/s3/<bucket>/, CloudWatch Logs under OUT/logs/<group>/.",
)
FlowLogsOption = typer.Option(
    None, "--flow-logs", help="A YAML file whose flow_logs: section replaces the scenario's."
)
HoursOption = typer.Option(None, "--hours", help="Simulated hours (default: the scenario's duration).")
SeedOption = typer.Option(None, "--seed", help="Random seed (default: the scenario's).")


def simulate(
    model: Path = ModelOption,
    scenario: Path = ScenarioOption,
    out: Path = OutOption,
    flow_logs: Path | None = FlowLogsOption,
    hours: float | None = HoursOption,
    seed: int | None = SeedOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Simulate traffic in a VPC model and write the flow logs AWS would deliver (S3 and CloudWatch Logs)."""
    from vpcflow.capture.lab import run_files

    result = run_files(model, scenario, out, flow_logs=flow_logs, hours=hours, seed=seed)
    rows = result.flow_log_rows()
    render_rows(rows, output, title=f"Simulated {result.simulation.scenario.duration / 3600:g} h into {out}")
    if output is OutputFormat.table:
        typer.echo(
            f"{result.simulation.connections} distinct flows evaluated; {result.simulation.unlogged} connections AWS does not log "
            f"(Amazon DNS, metadata, ...). Next: vpcflow ingest {out}/s3/<bucket> --lake LAKE",
            err=True,
        )


def register(app: typer.Typer) -> None:
    app.command()(simulate)
