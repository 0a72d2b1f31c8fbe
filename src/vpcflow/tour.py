"""The endpoint and flow logs lab, end to end: what `vpcflow demo` (and so `make run`) runs.

Every stage is a library call the CLI also exposes, so the tour doubles as a map of the project:

    story = reachability_story()                    # vpcflow reach, over examples/endpoint-lab/
    run = simulate_lab(out / "capture", seed=7)     # vpcflow simulate: S3 and CloudWatch Logs
    ingested = ingest_lab(run, out / "lake")        # vpcflow ingest
    rows = classic_rejects(out / "lake")            # vpcflow query, AWS's own Athena example
    who = rejected_sources(out / "lake")            # the same, grouped, with country and owner

Offline and deterministic for a seed: the simulator runs on a simulated clock, the countries come
from plevin's network database (a wheel that ships its data), DuckDB is embedded.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from vpcflow.errors import InputError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LAB = EXAMPLES / "endpoint-lab"
MARKER = ".vpcflow-demo"

# AWS's Athena example for rejected TCP traffic, verbatim (flowlogs.md, "Example queries" [ATH-UG]).
CLASSIC_REJECTED_TCP = """SELECT day_of_week(date) AS
  day,
  date,
  interface_id,
  srcaddr,
  action,
  protocol
FROM vpc_flow_logs
WHERE action = 'REJECT' AND protocol = 6
LIMIT 100;"""

# The same question over every record, grouped per source: Athena SQL as well.
REJECTED_SOURCES = """SELECT srcaddr,
  count(*) AS records,
  array_sort(array_agg(DISTINCT dstport)) AS ports
FROM vpc_flow_logs
WHERE action = 'REJECT' AND protocol = 6
GROUP BY srcaddr"""


@dataclass(frozen=True)
class StoryStep:
    """One question of the lab, asked of one step's model, and the engine's answer."""

    step: str  # the model file's stem
    title: str
    command: str  # the `vpcflow reach` line that asks it
    trace: object  # vpcflow.network.trace.Trace

    @property
    def summary(self) -> str:
        trace = self.trace
        if trace.outcome.value == "Reachable":
            nodes = [h.node for h in trace.path if h.direction == "forward"]
            return "Reachable: " + " -> ".join(dict.fromkeys(nodes))
        first = trace.explanations[0] if trace.explanations else None
        if first is None:
            return trace.outcome.value
        return f"{trace.outcome.value}: {first.code} at {first.component}"

    @property
    def fix(self) -> str:
        return self.trace.explanations[0].fix if self.trace.explanations else ""


# (model step, title, source, destination, --region): the lab's four moments and its traps.
STORY = (
    ("lab", "private instance to S3 through the NAT gateway", "i-app", "service:s3", "eu-west-1"),
    ("step2-no-nat-route", "the NAT route removed", "i-app", "service:s3", "eu-west-1"),
    ("step3-s3-gateway-endpoint", "S3 gateway endpoint; `aws s3 ls` with no region", "i-app", "service:s3", None),
    ("step3-s3-gateway-endpoint", "the same with --region eu-west-1", "i-app", "service:s3", "eu-west-1"),
    ("step3-s3-gateway-endpoint", "the internet, with no NAT route", "i-app", "google.com", None),
    ("step4-endpoint-policy", "endpoint policy for one bucket; another bucket", "i-app",
     "other-bucket.s3.eu-west-1.amazonaws.com", None),
)


def reachability_story(lab: Path = LAB) -> list[StoryStep]:
    from vpcflow.network import load_model
    from vpcflow.network.reach import reach

    models: dict[str, object] = {}
    steps = []
    for step, title, src, dst, region in STORY:
        model = models.get(step) or models.setdefault(step, load_model(lab / f"{step}.yaml"))
        command = f"vpcflow reach --model examples/endpoint-lab/{step}.yaml --from {src} --to {dst}"
        if region:
            command += f" --region {region}"
        steps.append(StoryStep(step, title, command, reach(model, src, dst, region=region)))
    return steps


def prepare(out: Path) -> Path:
    """An empty demo folder: created, or emptied when an earlier demo made it; anything else refused."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise InputError("exists and was not made by `vpcflow demo`; choose another --out", source=str(out))
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by `vpcflow demo`; the next demo empties this folder\n")
    return out


def simulate_lab(out: Path, seed: int = 7, hours: float = 1.0):
    """One simulated hour of the lab with a VPC flow log to S3 and one to CloudWatch Logs."""
    from vpcflow.capture.lab import run_lab

    return run_lab(out, seed=seed, hours=hours)


def ingest_lab(run, lake: Path):
    """The S3 copy into a lake, as `vpcflow ingest OUT/s3/<bucket> --lake LAKE` does."""
    from vpcflow.lake import ingest, local_sources

    return ingest(local_sources(run.s3_roots, lake), lake)


def athena(lake: Path, sql: str) -> pa.Table:
    """Athena SQL over the lake, as `vpcflow query --lake LAKE SQL` runs it."""
    from vpcflow.query import open_engine, run_sql

    engine = open_engine(lake)
    try:
        return run_sql(engine, sql)
    finally:
        engine.close()


def classic_rejects(lake: Path) -> pa.Table:
    """AWS's rejected TCP example, run unchanged, with each source's country added."""
    from vpcflow.reports.enrich import country_of

    rows = athena(lake, CLASSIC_REJECTED_TCP)
    return rows.append_column("country", country_of(rows.column("srcaddr")))


def rejected_sources(lake: Path) -> pa.Table:
    """Who knocked: rejected TCP per source (Athena SQL), with country and network owner."""
    from vpcflow.reports.enrich import country_of, owner_of

    rows = athena(lake, REJECTED_SOURCES)
    owners = owner_of(rows.column("srcaddr"))
    rows = rows.append_column("country", country_of(rows.column("srcaddr")))
    return rows.append_column("owner", owners.column("owner"))


def by_country(sources: pa.Table) -> pa.Table:
    """The per-source rows of `rejected_sources` per country, most records first."""
    import duckdb

    con = duckdb.connect()
    con.register("sources", sources)
    return con.sql(
        """SELECT coalesce(country, '-') AS country, count(*) AS sources, sum(records) AS records,
                  array_to_string(list_sort(list_distinct(flatten(list(ports)))), ',') AS ports_tried,
                  string_agg(DISTINCT owner, '; ' ORDER BY owner) AS networks
           FROM sources GROUP BY ALL ORDER BY records DESC, country"""
    ).to_arrow_table()
