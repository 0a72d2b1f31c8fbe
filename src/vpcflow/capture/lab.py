"""One call from files to delivered flow logs: what `vpcflow simulate` and `vpcflow demo` run.

    result = run_files(model_path, scenario_path, out_dir, hours=1, seed=7)
    result = run_lab(out_dir, seed=7)        # the endpoint lab: one hour, S3 and CloudWatch Logs

`run_lab` writes `out_dir/s3/lab-flow-logs/vpc/AWSLogs/...` (text, gzip) and
`out_dir/logs/lab-flow-logs/eni-*-all.jsonl`, with scanners from Japan, Ireland and Germany probing
ports such as 7766 and 8088 (examples/scenarios/endpoint-lab.yaml).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vpcflow.capture.flowlogs import load_flow_logs, parse_flow_logs
from vpcflow.capture.modelpaths import ModelPaths
from vpcflow.capture.scenario import Scenario, load_scenario
from vpcflow.capture.simulate import Delivery, Simulation, deliver, simulate
from vpcflow.errors import ModelError

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
LAB_MODEL = EXAMPLES / "endpoint-lab" / "lab.yaml"
LAB_SCENARIO = EXAMPLES / "scenarios" / "endpoint-lab.yaml"


@dataclass
class RunResult:
    simulation: Simulation
    delivery: Delivery
    out_dir: Path

    @property
    def s3_roots(self) -> list[Path]:
        """Each bucket's root folder (what `vpcflow ingest` reads)."""
        return sorted({self.out_dir / "s3" / o.bucket for o in self.delivery.s3})

    @property
    def log_groups(self) -> list[Path]:
        return sorted({self.out_dir / "logs" / s.group.strip("/") for s in self.delivery.cloudwatch})

    def flow_log_rows(self) -> list[dict]:
        """One row per flow log: where it delivered, how many records and S3 objects."""
        rows = []
        for output in self.simulation.outputs:
            fl = output.flow_log
            to_s3 = fl.log_destination_type == "s3"
            where = f"s3://{fl.bucket}/{fl.s3_prefix + '/' if fl.s3_prefix else ''}" if to_s3 else f"log group {fl.log_group}"
            objects = sum(1 for d in self.delivery.s3 if f"_{fl.id}_" in d.key) if to_s3 else None
            rows.append({
                "flow_log": fl.id, "resource": fl.resource_id, "traffic": fl.traffic_type.value,
                "destination": where, "records": output.table.num_rows, "objects": objects,
            })  # fmt: skip
        return rows


def run_files(
    model: str | os.PathLike,
    scenario: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    flow_logs: str | os.PathLike | None = None,
    hours: float | None = None,
    seed: int | None = None,
) -> RunResult:
    """Load a model and a scenario (flow logs from the scenario, or from `flow_logs`), simulate, deliver."""
    from vpcflow.network import load_model

    network = load_model(Path(model))
    plan = load_scenario(scenario)
    plan = _override(plan, hours, seed)
    region = network.vpcs[0].region if network.vpcs else None
    logs = (
        load_flow_logs(flow_logs, region=region)
        if flow_logs
        else parse_flow_logs(plan.flow_logs, str(scenario), region=region)
    )
    if not logs:
        raise ModelError(
            f"{scenario}: no flow_logs: add a flow_logs section (or pass --flow-logs FILE) to capture anything"
        )
    finder = ModelPaths(network)
    sim = simulate(plan, finder, logs, ranges=finder.aws_ranges())
    out = Path(out_dir)
    return RunResult(sim, deliver(sim, out), out)


def run_lab(out_dir: str | os.PathLike, seed: int = 7, hours: float = 1.0) -> RunResult:
    """Simulate the endpoint lab for `hours` with the shipped scenario; deterministic for `seed`."""
    return run_files(LAB_MODEL, LAB_SCENARIO, out_dir, hours=hours, seed=seed)


def _override(plan: Scenario, hours: float | None, seed: int | None) -> Scenario:
    changes = {}
    if hours is not None:
        if hours <= 0:
            raise ModelError("--hours must be more than 0")
        changes["duration"] = hours * 3600.0
    if seed is not None:
        changes["seed"] = seed
    return plan.model_copy(update=changes) if changes else plan
