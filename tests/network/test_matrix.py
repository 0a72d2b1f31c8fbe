"""The bulk matrix gives exactly the engine's answers (it only changes how they are computed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vpcflow.network import load_model
from vpcflow.network.matrix import reach_matrix
from vpcflow.network.reach import evaluate_flow

MODELS = Path(__file__).parent / "models"


@pytest.mark.parametrize("name", ["base", "firewall-symmetric", "ephemeral-narrow"])
@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_matrix_equals_evaluate_flow(name, protocol):
    model = load_model(MODELS / f"{name}.yaml")
    enis = [e.id for e in model.network_interfaces]
    ports = (22, 443, 5432, 8080)
    matrix = reach_matrix(model, enis, enis, ports, protocol, src_port=50000)
    vectorised = 0
    for a, src in enumerate(enis):
        for b, dst in enumerate(enis):
            if a == b:
                continue
            for k, port in enumerate(ports):
                want = evaluate_flow(
                    model, src, model.get(dst).private_ip, protocol, port, src_port=50000
                ).reachable
                assert matrix.reachable[k, a, b] == want, (src, dst, port)
                vectorised += 1
    assert matrix.fallback_pairs < len(enis) * (len(enis) - 1)  # most pairs took the vectorised road
    if name == "base":
        assert matrix("eni-app", "eni-db", 5432) is (protocol == "tcp")
