"""AWS on the command line: the AWS options of `vpcflow ingest`, and `vpcflow import-aws`.

The options mirror the AWS CLI's (`--profile`, `--region`, `--endpoint-url`); what they leave unset
is resolved by boto3 exactly as the AWS CLI resolves it (environment, config files, roles).
"""

from __future__ import annotations

from pathlib import Path

import typer

from vpcflow.aws_session import AwsSettings

ProfileOption = typer.Option(
    None, "--profile", help="AWS profile (default: AWS_PROFILE, or the default profile)."
)
RegionOption = typer.Option(None, "--region", help="AWS Region (default: AWS_REGION, or the profile's region).")
EndpointOption = typer.Option(
    None,
    "--endpoint-url",
    help="Another endpoint for every AWS call, e.g. a local S3-compatible server (default: AWS_ENDPOINT_URL).",
)
SinceOption = typer.Option(
    None,
    "--since",
    help="s3:// and cwlogs:// sources: only records from this time on (2026-11-20, 2026-11-20T10:00Z, or an age: 2h, 7d).",
)
UntilOption = typer.Option(
    None, "--until", help="s3:// and cwlogs:// sources: only records before this time (same forms as --since)."
)


def remote_options(profile, region, endpoint_url, since, until, log_format):
    """The ingest command's AWS options as the library's RemoteOptions."""
    from vpcflow.lake.sources_registry import RemoteOptions, parse_time

    return RemoteOptions(
        aws=AwsSettings(profile, region, endpoint_url),
        since=parse_time(since, option="--since"),
        until=parse_time(until, option="--until"),
        log_format=log_format,
    )


OutOption = typer.Option(..., "--out", help="Folder for the describe JSON files (created if missing).")
VpcIdOption = typer.Option(
    None, "--vpc-id", help="Only these VPCs and their resources (repeat for several; default: every VPC)."
)


def import_aws_command(
    out: Path = OutOption,
    vpc_id: list[str] = VpcIdOption,
    profile: str | None = ProfileOption,
    region: str | None = RegionOption,
    endpoint_url: str | None = EndpointOption,
) -> None:
    """Import a Region's VPCs from a live AWS account: one `aws ec2 describe-*` JSON file per call,
    the folder the model loader reads."""
    from vpcflow.network.aws_import import import_aws

    settings = AwsSettings(profile, region, endpoint_url)
    result = import_aws(settings, out, vpc_ids=vpc_id or None)
    per_resource = ("describe-vpc-attribute-", "get-managed-prefix-list-entries-")
    for name, count in result.counts.items():
        if not name.startswith(per_resource):
            typer.echo(f"{name}.json: {count}", err=True)
    for prefix in per_resource:
        files = sum(1 for name in result.counts if name.startswith(prefix))
        typer.echo(f"{prefix}*.json: {files} files", err=True)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(
        f"wrote {len(result.counts)} files to {result.out} ({result.region}); next: vpcflow reach --model {result.out} ...",
        err=True,
    )


def register(app: typer.Typer) -> None:
    app.command("import-aws")(import_aws_command)
