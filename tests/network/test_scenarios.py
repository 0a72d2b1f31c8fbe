"""Golden reachability scenarios: tests/network/scenarios.txt, one case a line."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from vpcflow.network import Model, load_model
from vpcflow.network.policy import ApiRequest
from vpcflow.network.reach import reach

HERE = Path(__file__).parent
LAB = HERE.parents[1] / "examples" / "endpoint-lab"


@cache
def model_named(name: str) -> Model:
    if name.startswith("lab:"):
        return load_model(LAB / f"{name[4:]}.yaml")
    return load_model(HERE / "models" / f"{name}.yaml")


def _cases():
    for number, line in enumerate((HERE / "scenarios.txt").read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("|")]
        assert len(fields) == 9, f"scenarios.txt:{number}: expected 9 fields, got {len(fields)}"
        yield pytest.param(
            *fields, id=f"{number}:{fields[0]}:{fields[1]}->{fields[2]}:{fields[3]}/{fields[4]}"
        )


CASES = list(_cases())


def test_there_are_enough_scenarios():
    assert len(CASES) >= 50


@pytest.mark.parametrize("model, src, dst, protocol, port, region, action, outcome, code", CASES)
def test_scenario(model, src, dst, protocol, port, region, action, outcome, code):
    trace = reach(
        model_named(model),
        src,
        dst,
        protocol,
        None if port == "-" else int(port),
        None if region == "-" else region,
        api=None if action == "-" else ApiRequest(action),
    )
    first = trace.explanations[0].code if trace.explanations else "-"
    assert (trace.outcome.value, first) == (outcome, code), trace.to_json()["explanations"]
    assert trace.reachable == (outcome in ("Reachable", "AccessDenied"))
