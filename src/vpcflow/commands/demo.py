"""`vpcflow demo`: the main job that `make run` runs, offline, on the embedded default.

The endpoint and flow logs lab end to end (vpcflow.tour): the reachability story of
examples/endpoint-lab/, one simulated hour of flow logs to S3 and CloudWatch Logs, the S3 copy
ingested into a lake, AWS's rejected-TCP Athena example run unchanged with each source's country,
and where to go next. Everything it writes stays under --out, so the next steps work on it.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.table import Table

from vpcflow import tour
from vpcflow.commands.output import OutputFormat, console, render_batches, render_rows

OutOption = typer.Option(
    Path("vpcflow-demo"),
    "--out",
    help="Folder for the lab's flow logs and lake (emptied first when an earlier demo made it).",
)
SeedOption = typer.Option(7, "--seed", help="Random seed of the simulated traffic (same seed, same bytes).")
HoursOption = typer.Option(1.0, "--hours", help="Simulated hours of traffic.")
ROWS_SHOWN = 12


def demo(out: Path = OutOption, seed: int = SeedOption, hours: float = HoursOption) -> None:
    """Run the endpoint and flow logs lab end to end, offline: reachability, capture, lake, Athena SQL."""
    con = console()
    started = time.perf_counter()
    con.rule("[bold]vpcflow demo: the VPC endpoint and flow logs lab")

    con.print("\n[bold]1. Reachability[/] (examples/endpoint-lab/: VPC 10.0.0.0/16 in eu-west-1, private instance i-app)")
    story = Table(show_lines=False, expand=False)
    for column in ("step", "question", "answer", "what to change"):
        story.add_column(column, overflow="fold")
    steps = tour.reachability_story()
    for step in steps:
        colour = "green" if step.trace.outcome.value == "Reachable" else "red"
        story.add_row(step.step, step.title, f"[{colour}]{step.summary}[/]", step.fix)
    con.print(story)
    con.print("Each answer is one `vpcflow reach` call (the region trap):")
    con.print(f"  [cyan]{steps[2].command}[/]", soft_wrap=True)

    out = tour.prepare(out)
    con.print(f"\n[bold]2. One simulated hour[/] with a VPC flow log to S3 and one to CloudWatch Logs, into {out}/capture")
    run = tour.simulate_lab(out / "capture", seed=seed, hours=hours)
    render_rows(run.flow_log_rows(), OutputFormat.table, title="Flow logs delivered")
    con.print(f"S3 objects under {run.s3_roots[0]}/AWSLogs/..., log streams under {run.log_groups[0]}/")

    con.print(f"\n[bold]3. Ingest[/] the S3 copy into a Parquet lake at {out}/lake")
    ingested = tour.ingest_lab(run, out / "lake")
    con.print(
        f"{ingested.objects_read} objects, {ingested.records:,} records, {ingested.bad} bad, "
        f"{len(ingested.partitions)} partitions"
    )

    con.print("\n[bold]4. AWS's Athena example for rejected TCP traffic[/], unchanged, with each source's country")
    con.print(f"[dim]{tour.CLASSIC_REJECTED_TCP}[/]")
    rows = tour.classic_rejects(out / "lake")
    render_batches(rows.slice(0, ROWS_SHOWN).to_batches(), OutputFormat.table, title=f"First {ROWS_SHOWN} of {rows.num_rows} rows")
    who = tour.by_country(tour.rejected_sources(out / "lake"))
    render_batches(who.to_batches(), OutputFormat.table, title="Who knocked: every rejected TCP record, by source country")

    lake = f"{out}/lake"
    con.print(f"\n[bold]Next[/] (done in {time.perf_counter() - started:.1f} s, offline):")
    for line in (
        f"vpcflow query --lake {lake} \"SELECT dstport, count(*) AS n FROM vpc_flow_logs WHERE action = 'REJECT' GROUP BY dstport ORDER BY n DESC\"",
        f"vpcflow insights --lake {lake} 'filter action=\"REJECT\" | stats count(*) as rejections by srcAddr | sort rejections desc | limit 10'",
        "vpcflow reach --model examples/endpoint-lab/step3-s3-gateway-endpoint.yaml --from i-app --to service:s3",
        f"vpcflow report rejects --lake {lake} --top 10",
        f"vpcflow cat {run.log_groups[0]}/eni-bastion-all.jsonl --output json",
    ):
        con.print(f"  [cyan]{line}[/]", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(demo)
