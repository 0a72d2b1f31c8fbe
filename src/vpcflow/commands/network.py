"""`vpcflow reach` and `vpcflow doctor`: the network model on the command line."""

from __future__ import annotations

import enum
import json
from pathlib import Path

import typer

from vpcflow.commands.output import console
from vpcflow.network import load_model
from vpcflow.network.doctor import doctor as run_doctor
from vpcflow.network.policy import ApiRequest
from vpcflow.network.reach import reach as reach_query
from vpcflow.network.trace import Outcome


class ReachOutput(enum.StrEnum):
    text = "text"
    json = "json"


ModelOption = typer.Option(
    ..., "--model", "-m", help="A model: YAML file, folder of YAML files, or folder of describe-* JSON."
)
FromOption = typer.Option(
    ..., "--from", help="Source: an instance id, an ENI id or an IP address (outside the model = internet)."
)
ToOption = typer.Option(
    ...,
    "--to",
    help="Destination: an IP, instance or ENI id, a host name (s3.eu-west-1.amazonaws.com, google.com) or service:<name>.",
)
ProtocolOption = typer.Option("tcp", "--protocol", help="tcp, udp, icmp, icmpv6, all or a protocol number.")
PortOption = typer.Option(
    None, "--port", help="Destination port (ICMP: the type). Default 443 for TCP, 8 (echo) for ICMP."
)
RegionOption = typer.Option(
    None,
    "--region",
    help="Region for service:<name> destinations, as the AWS CLI's --region (default us-east-1).",
)
ActionOption = typer.Option(
    None, "--action", help="The API call checked against endpoint and identity policies, e.g. s3:GetObject."
)
ResourceOption = typer.Option(
    "*", "--resource", help="The resource ARN of --action, e.g. arn:aws:s3:::my-bucket/key."
)
ReachOutputOption = typer.Option(ReachOutput.text, "--output", "-o", help="text (a tree) or json.")


def reach(
    model: Path = ModelOption,
    source: str = FromOption,
    destination: str = ToOption,
    protocol: str = ProtocolOption,
    port: int | None = PortOption,
    region: str | None = RegionOption,
    action: str | None = ActionOption,
    resource: str = ResourceOption,
    output: ReachOutput = ReachOutputOption,
) -> None:
    """Can SRC reach DST? The path hop by hop, and what blocks it. Exit 0 when reachable, 1 when not."""
    loaded = load_model(model)
    api = ApiRequest(action, resource) if action else None
    trace = reach_query(loaded, source, destination, protocol, port, region, api=api)
    if output is ReachOutput.json:
        typer.echo(json.dumps(trace.to_json(), indent=2))
    else:
        console().print(trace)
    if trace.outcome is not Outcome.reachable:
        raise typer.Exit(1)


DoctorOutputOption = typer.Option(ReachOutput.text, "--output", "-o", help="text (a table) or json.")


def doctor(model: Path = ModelOption, output: ReachOutput = DoctorOutputOption) -> None:
    """Check the model for what AWS's troubleshooting guides name. Exit 1 when a finding is an error."""
    report = run_doctor(load_model(model))
    if output is ReachOutput.json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        console().print(report)
    if report.has_errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("reach")(reach)
    app.command("doctor")(doctor)
