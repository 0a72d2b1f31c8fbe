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
    help="Output folder: S3 objects under OUT/s3/<bucket>/, CloudWatch Logs under OUT/logs/<group>/; "
    "or s3://bucket/prefix to upload the same files there (AWS settings as the AWS CLI resolves them).",
)
FlowLogsOption = typer.Option(
    None, "--flow-logs", help="A YAML file whose flow_logs: section replaces the scenario's."
)
HoursOption = typer.Option(None, "--hours", help="Simulated hours (default: the scenario's duration).")
SeedOption = typer.Option(None, "--seed", help="Random seed (default: the scenario's).")


def simulate(
    model: Path = ModelOption,
    scenario: Path = ScenarioOption,
    out: str = OutOption,
    flow_logs: Path | None = FlowLogsOption,
    hours: float | None = HoursOption,
    seed: int | None = SeedOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Simulate traffic in a VPC model and write the flow logs AWS would deliver (S3 and CloudWatch Logs)."""
    from vpcflow.capture.lab import run_files

    if out.startswith("s3://"):
        result = _simulate_to_s3(model, scenario, out, flow_logs=flow_logs, hours=hours, seed=seed)
    else:
        result = run_files(model, scenario, out, flow_logs=flow_logs, hours=hours, seed=seed)
    rows = result.flow_log_rows()
    render_rows(rows, output, title=f"Simulated {result.simulation.scenario.duration / 3600:g} h into {out}")
    if output is OutputFormat.table:
        typer.echo(
            f"{result.simulation.connections} distinct flows evaluated; {result.simulation.unlogged} connections AWS does not log "
            f"(Amazon DNS, metadata, ...). Next: vpcflow ingest {out.rstrip('/')}/s3/<bucket> --lake LAKE",
            err=True,
        )


def _simulate_to_s3(model: Path, scenario: Path, url: str, **options):
    """Deliver into a temporary folder, then upload that folder's files below the S3 URL."""
    import tempfile

    from vpcflow.aws_session import AwsSettings
    from vpcflow.capture.lab import run_files
    from vpcflow.capture.upload_s3 import parse_s3_url, upload_folder

    parse_s3_url(url)  # a bad URL fails before the simulation runs
    with tempfile.TemporaryDirectory(prefix="vpcflow-simulate-") as folder:
        result = run_files(model, scenario, folder, **options)
        uploaded = upload_folder(folder, url, AwsSettings())
    typer.echo(f"uploaded {len(uploaded.keys):,} objects ({uploaded.bytes / 1e6:,.1f} MB) to {url}", err=True)
    return result


def register(app: typer.Typer) -> None:
    app.command()(simulate)
