"""Reachability at scale: the full ENI x ENI x port matrix in bulk, and single queries, in one run.

    python bench/bench_reach.py [--enis 1000] [--subnets 50] [--groups 200] [--nacls 200] [--queries 1000] [--seed 1]

A seeded VPC (10.0.0.0/16) in eu-west-1: `--subnets` /24 subnets over three AZs, ten route tables
(internet gateway, NAT gateway, a blackhole and a peering route among them), `--nacls` network ACLs
(one per subnet associated, the rest unused as in real accounts; numbered allow and deny rules on
subnet CIDRs, service ports and ephemeral ranges), `--groups` security groups (rules on ports and
ranges, on CIDRs, on other groups and on the S3 prefix list; a few with restricted egress), and
`--enis` instance interfaces spread over the subnets with one to three groups each.

Peers, measured in the same process on the same model:
- matrix: `vpcflow.network.matrix.reach_matrix(model, enis, enis, 5 ports)`: every (source ENI,
  destination ENI, port), TCP, what a bulk question ("who can reach whom") costs;
- evaluate_flow loop: `evaluate_flow` per flow on a random sample of the same triples, scaled to the
  full matrix (the alternative to the bulk path), also a check that both give the same answers;
- single query: `evaluate_flow` (per-interface verdicts, what the simulator calls) and `reach` (the
  explained trace, what `vpcflow reach` prints) on `--queries` random flows (ENI to ENI, ENI to the
  internet, ENI to S3), median and p95, on a freshly loaded model and then again (warm memo).
Prints each figure and its ratio to the issue's targets: matrix < 5 s, single query < 5 ms. The
targets are compared with the process's CPU time; wall-clock figures are printed beside them (on a
shared machine the wall clock also counts time spent waiting for a core).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vpcflow.network.loaders.common import assemble  # noqa: E402
from vpcflow.network.matrix import reach_matrix  # noqa: E402
from vpcflow.network.reach import evaluate_flow, reach  # noqa: E402
from vpcflow.network.store import Model  # noqa: E402

PORTS = (22, 80, 443, 5432, 8080)
SERVICE_PORTS = (22, 80, 443, 3306, 5432, 6379, 8080, 8443, 9200)
MATRIX_TARGET_S, SINGLE_TARGET_MS = 5.0, 5.0
SRC_PORT = 50000


def generate(enis: int, subnets: int, groups: int, nacls: int, seed: int) -> dict[str, list]:
    """The model's sections, as a loader would hand them to `assemble`."""
    rng = np.random.default_rng(seed)
    vpc = "vpc-bench"
    s: dict[str, list] = {
        k: [] for k in ("vpcs", "subnets", "route_tables", "internet_gateways", "nat_gateways")
    }
    s.update(security_groups=[], network_acls=[], network_interfaces=[], instances=[], peering_connections=[])
    s["vpcs"] = [
        {"id": vpc, "region": "eu-west-1", "cidr_blocks": ["10.0.0.0/16"], "enable_dns_hostnames": True},
        {"id": "vpc-peer", "region": "eu-west-1", "cidr_blocks": ["10.9.0.0/16"]},
    ]
    s["internet_gateways"] = [{"id": "igw-bench", "vpc_id": vpc}]
    s["peering_connections"] = [{"id": "pcx-bench", "requester_vpc_id": vpc, "accepter_vpc_id": "vpc-peer"}]
    cidrs = [f"10.0.{i}.0/24" for i in range(subnets)]
    for i, cidr in enumerate(cidrs):
        az = "abc"[i % 3]
        s["subnets"].append(
            {
                "id": f"subnet-{i:03d}",
                "vpc_id": vpc,
                "cidr_block": cidr,
                "availability_zone": f"eu-west-1{az}",
            }
        )
    s["nat_gateways"] = [
        {
            "id": "nat-bench",
            "subnet_id": "subnet-000",
            "private_ip": "10.0.0.250",
            "public_ip": "198.51.100.250",
        }
    ]
    s["network_interfaces"].append(
        {
            "id": "eni-nat",
            "subnet_id": "subnet-000",
            "private_ip": "10.0.0.250",
            "public_ip": "198.51.100.250",
            "interface_type": "nat_gateway",
            "requester_managed": True,
        }
    )
    s["nat_gateways"][0]["network_interface_id"] = "eni-nat"
    tables = 10
    for t in range(tables):
        routes = [{"destination": "0.0.0.0/0", "target": "igw-bench" if t < 3 else "nat-bench"}]
        if t % 2:
            routes.append({"destination": "10.9.0.0/16", "target": "pcx-bench"})
        if t % 3 == 0:
            routes.append({"destination": "172.16.0.0/12", "target": "nat-gone", "state": "blackhole"})
        s["route_tables"].append(
            {
                "id": f"rtb-{t:02d}",
                "vpc_id": vpc,
                "subnet_ids": [f"subnet-{i:03d}" for i in range(t, subnets, tables)],
                "routes": routes,
            }
        )
    s["route_tables"] += [
        {"id": "rtb-main", "vpc_id": vpc, "main": True},
        {"id": "rtb-peer", "vpc_id": "vpc-peer", "main": True},
    ]

    def nacl_rules(count: int) -> list[dict]:
        rules = []
        for n in range(count):
            action = "deny" if rng.random() < 0.25 else "allow"
            cidr = cidrs[rng.integers(subnets)] if rng.random() < 0.7 else "10.0.0.0/16"
            port = int(rng.choice(SERVICE_PORTS))
            rules.append(
                {"rule_number": 10 + 10 * n, "protocol": "tcp", "action": action, "cidr": cidr, "port": port}
            )
        rules.append(
            {
                "rule_number": 900,
                "protocol": "tcp",
                "action": "allow",
                "cidr": "0.0.0.0/0",
                "ports": "1024-65535",
            }
        )
        if rng.random() < 0.9:
            rules.append({"rule_number": 1000, "protocol": "all", "action": "allow", "cidr": "0.0.0.0/0"})
        return rules

    everything = [{"rule_number": 100, "protocol": "all", "action": "allow", "cidr": "0.0.0.0/0"}]
    for vid in (vpc, "vpc-peer"):
        s["network_acls"].append(
            {
                "id": f"acl-{vid[4:]}-default",
                "vpc_id": vid,
                "is_default": True,
                "inbound": everything,
                "outbound": everything,
            }
        )
    for a in range(nacls):
        s["network_acls"].append(
            {
                "id": f"acl-{a:03d}",
                "vpc_id": vpc,
                "subnet_ids": [f"subnet-{a:03d}"] if a < subnets else [],
                "inbound": nacl_rules(int(rng.integers(3, 9))),
                "outbound": nacl_rules(int(rng.integers(1, 5))),
            }
        )

    group_ids = [f"sg-{g:03d}" for g in range(groups)]
    for gid in group_ids:
        ingress = []
        for _ in range(int(rng.integers(2, 6))):
            kind = rng.random()
            rule: dict = {"protocol": "tcp"}
            if rng.random() < 0.2:
                low = int(rng.choice(SERVICE_PORTS))
                rule["ports"] = f"{low}-{low + int(rng.integers(1, 200))}"
            else:
                rule["port"] = int(rng.choice(SERVICE_PORTS))
            if kind < 0.45:
                rule["group_id"] = group_ids[rng.integers(groups)]
            elif kind < 0.9:
                rule["cidr"] = cidrs[rng.integers(subnets)] if rng.random() < 0.8 else "10.0.0.0/16"
            else:
                rule["cidr"] = "0.0.0.0/0"
            ingress.append(rule)
        if rng.random() < 0.1:
            egress = [
                {"protocol": "tcp", "port": 443, "prefix_list_id": "pl-6da54004"},
                {"protocol": "tcp", "ports": "0-10000", "cidr": "10.0.0.0/16"},
            ]
        else:
            egress = [{"protocol": "all", "cidr": "0.0.0.0/0"}]
        s["security_groups"].append(
            {"id": gid, "vpc_id": vpc, "group_name": gid, "ingress": ingress, "egress": egress}
        )
    s["security_groups"].append({"id": "sg-peer-default", "vpc_id": "vpc-peer", "group_name": "default"})

    per_subnet = -(-enis // subnets)
    for e in range(enis):
        sub, host = e % subnets, 10 + e // subnets
        assert host < 250 and per_subnet < 240
        eni = f"eni-{e:04d}"
        chosen = sorted({group_ids[i] for i in rng.integers(groups, size=int(rng.integers(1, 4)))})
        public = f"198.51.{100 + e // 250}.{e % 250 + 1}" if sub % 10 < 3 and rng.random() < 0.5 else None
        s["network_interfaces"].append(
            {
                "id": eni,
                "subnet_id": f"subnet-{sub:03d}",
                "private_ip": f"10.0.{sub}.{host}",
                "security_group_ids": chosen,
                "instance_id": f"i-{e:04d}",
                "public_ip": public,
            }
        )
        s["instances"].append({"id": f"i-{e:04d}", "network_interface_ids": [eni]})
    return s


def load(sections: dict[str, list]) -> Model:
    return assemble({k: [dict(x) for x in v] for k, v in sections.items()}, "bench")


def percentiles(values_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(values_ms)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


class Clock:
    """CPU seconds of this process (what the work costs) and wall seconds (what a user waits).

    The machine is shared: under load the wall clock includes time spent waiting for a core, so the
    targets are compared with CPU time and the wall figures are printed beside them."""

    def __enter__(self) -> Clock:
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu, self.wall = time.process_time() - self.cpu0, time.perf_counter() - self.wall0


def single_queries(
    model: Model, flows: list[tuple[str, str, int]], explained: bool
) -> tuple[list[float], list[float]]:
    cpu, wall = [], []
    for src, dst, port in flows:
        with Clock() as clock:
            if explained:
                reach(model, src, dst, "tcp", port)
            else:
                evaluate_flow(model, src, dst, "tcp", port, src_port=SRC_PORT)
        cpu.append(clock.cpu * 1000)
        wall.append(clock.wall * 1000)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enis", type=int, default=1000)
    parser.add_argument("--subnets", type=int, default=50)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--nacls", type=int, default=200)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=5000, help="flows of the evaluate_flow loop peer")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    t0 = time.perf_counter()
    sections = generate(args.enis, args.subnets, args.groups, args.nacls, args.seed)
    model = load(sections)
    model.indexes  # noqa: B018 - built once per model, as any first query would
    load_s = time.perf_counter() - t0
    enis = [e.id for e in model.network_interfaces if e.instance_id]
    print(
        f"model: {len(enis)} instance ENIs, {len(model.subnets)} subnets, {len(model.security_groups)} security groups, "
        f"{len(model.network_acls)} network ACLs, {len(model.route_tables)} route tables; generated and checked in {load_s:.2f} s"
    )

    with Clock() as clock:
        matrix = reach_matrix(model, enis, enis, PORTS, "tcp", src_port=SRC_PORT)
    matrix_s, matrix_wall = clock.cpu, clock.wall
    triples = len(enis) * len(enis) * len(PORTS)

    rng = np.random.default_rng(args.seed + 1)
    ips = {e.id: str(e.private_ip) for e in model.network_interfaces}
    sample = [
        (enis[a], enis[b], PORTS[k])
        for a, b, k in zip(
            rng.integers(len(enis), size=args.sample),
            rng.integers(len(enis), size=args.sample),
            rng.integers(len(PORTS), size=args.sample),
            strict=True,
        )
        if a != b
    ]
    fresh = load(sections)
    with Clock() as clock:
        answers = [
            evaluate_flow(fresh, s, ips[d], "tcp", p, src_port=SRC_PORT).reachable for s, d, p in sample
        ]
    loop_per_flow, loop_wall_per_flow = clock.cpu / len(sample), clock.wall / len(sample)
    mismatches = sum(matrix(s, d, p) != want for (s, d, p), want in zip(sample, answers, strict=True))
    loop_full_s = loop_per_flow * triples

    destinations = [ips[e] for e in enis] + [
        "203.0.113.7",
        "8.8.8.8",
        "52.218.1.10",
        "s3.eu-west-1.amazonaws.com",
    ]
    flows = [
        (enis[a], destinations[b] if b < len(destinations) else destinations[-1], PORTS[k])
        for a, b, k in zip(
            rng.integers(len(enis), size=args.queries),
            rng.integers(len(destinations), size=args.queries),
            rng.integers(len(PORTS), size=args.queries),
            strict=True,
        )
    ]
    flows = [f for f in flows if ips.get(f[0]) != f[1]]
    cold_model = load(sections)
    cold_model.indexes  # noqa: B018
    cold = single_queries(cold_model, [f for f in flows if not f[1][0].isalpha()], explained=False)
    warm = single_queries(cold_model, [f for f in flows if not f[1][0].isalpha()], explained=False)
    explained = single_queries(load(sections), flows, explained=True)

    print(
        f"\nmatrix: {len(enis)} x {len(enis)} ENIs x {len(PORTS)} ports = {triples:,} triples, "
        f"{matrix.fallback_pairs:,} pairs by the engine, {int(matrix.reachable.sum()):,} reachable"
    )
    target_s, target_ms = f"< {MATRIX_TARGET_S:.0f} s", f"< {SINGLE_TARGET_MS:.0f} ms"
    rows = [
        (
            "reach_matrix (full matrix)",
            f"{matrix_s:.2f} s",
            f"{matrix_wall:.2f} s",
            target_s,
            MATRIX_TARGET_S / matrix_s,
        ),
        (
            f"evaluate_flow loop ({len(sample):,} flows, scaled)",
            f"{loop_full_s:.0f} s",
            f"{loop_wall_per_flow * triples:.0f} s",
            target_s,
            MATRIX_TARGET_S / loop_full_s,
        ),
    ]
    for name, (values, walls) in (
        ("evaluate_flow, fresh model", cold),
        ("evaluate_flow, same flows again", warm),
        ("reach (explained trace), fresh model", explained),
    ):
        (median, p95), (wall_median, wall_p95) = percentiles(values), percentiles(walls)
        rows.append(
            (
                f"{name}: median",
                f"{median:.3f} ms",
                f"{wall_median:.3f} ms",
                target_ms,
                SINGLE_TARGET_MS / median,
            )
        )
        rows.append(
            (f"{name}: p95", f"{p95:.3f} ms", f"{wall_p95:.3f} ms", target_ms, SINGLE_TARGET_MS / p95)
        )
    width = max(len(r[0]) for r in rows)
    print(f"\n{'peer':<{width}}  {'CPU':>10}  {'wall':>10}  {'target':>8}  target / CPU")
    for name, value, wall, target, ratio in rows:
        print(f"{name:<{width}}  {value:>10}  {wall:>10}  {target:>8}  {ratio:8.1f}x")
    print(
        f"\nreach_matrix vs the evaluate_flow loop: {loop_full_s / matrix_s:.0f}x faster; "
        f"answers differing on the sample: {mismatches} of {len(sample):,}"
    )
    if mismatches:
        sys.exit("the matrix and evaluate_flow disagree")


if __name__ == "__main__":
    main()
