"""sg-suggest against the same answer computed here in plain Python, record by record, on a seeded
lake of requests, replies and traffic routed through, over a model with every kind of rule peer
(CIDR v4 and v6, security group, prefix list), port ranges, all-protocol and ICMP rules."""

from __future__ import annotations

import ipaddress
import random
from collections import defaultdict

import pytest

from tests.reports.lakegen import flow, write_lake
from vpcflow.network.loaders.common import assemble
from vpcflow.reports import Options, open_lake, run_report
from vpcflow.reports.sg_suggest import MANY_SOURCES, NAMES

T0 = 1_764_000_000


def lab_model():
    vpc = "vpc-sg"
    return assemble(
        {
            "vpcs": [{"id": vpc, "region": "eu-west-1", "cidr_blocks": ["10.0.0.0/16"],
                      "ipv6_cidr_blocks": ["2001:db8:1::/56"]}],
            "subnets": [
                {"id": "subnet-a", "vpc_id": vpc, "cidr_block": "10.0.0.0/24", "ipv6_cidr_block": "2001:db8:1::/64",
                 "availability_zone": "eu-west-1a"},
                {"id": "subnet-b", "vpc_id": vpc, "cidr_block": "10.0.1.0/24", "availability_zone": "eu-west-1b"},
            ],
            "route_tables": [{"id": "rtb-main", "vpc_id": vpc, "main": True}],
            "network_acls": [{"id": "acl-default", "vpc_id": vpc, "is_default": True}],
            "prefix_lists": [{"id": "pl-office", "prefix_list_name": "office", "region": "eu-west-1",
                              "owner_id": "111122223333", "cidrs": ["192.0.2.0/25", "192.0.2.0/26", "198.51.100.0/24"]}],
            "security_groups": [
                {"id": "sg-web", "vpc_id": vpc, "ingress": [
                    {"protocol": "tcp", "port": 443, "cidr": "0.0.0.0/0"},
                    {"protocol": "tcp", "port": 443, "cidr": "::/0"},
                    {"protocol": "tcp", "ports": "8000-8100", "cidr": "10.0.0.0/16"},
                    {"protocol": "tcp", "port": 22, "prefix_list_id": "pl-office", "description": "office"},
                ]},
                {"id": "sg-db", "vpc_id": vpc, "ingress": [
                    {"protocol": "tcp", "port": 5432, "group_id": "sg-web"},
                    {"protocol": "all", "group_id": "sg-admin"},
                    {"protocol": "udp", "ports": "5000-5010", "cidr": "10.0.1.0/24"},
                ]},
                {"id": "sg-admin", "vpc_id": vpc, "ingress": [
                    {"protocol": "tcp", "port": 22, "cidr": "192.0.2.0/24"},
                    {"protocol": "icmp", "from_port": -1, "to_port": -1, "cidr": "0.0.0.0/0"},
                ]},
                {"id": "sg-quiet", "vpc_id": vpc, "ingress": [{"protocol": "tcp", "port": 3389, "cidr": "0.0.0.0/0"}]},
            ],
            "network_interfaces": [
                {"id": "eni-web1", "subnet_id": "subnet-a", "private_ip": "10.0.0.10",
                 "ipv6_addresses": ["2001:db8:1::10"], "security_group_ids": ["sg-web"]},
                {"id": "eni-web2", "subnet_id": "subnet-a", "private_ip": "10.0.0.11",
                 "security_group_ids": ["sg-web", "sg-admin"]},
                {"id": "eni-db", "subnet_id": "subnet-b", "private_ip": "10.0.1.20",
                 "secondary_private_ips": ["10.0.1.21"], "security_group_ids": ["sg-db"]},
                {"id": "eni-admin", "subnet_id": "subnet-b", "private_ip": "10.0.1.30", "security_group_ids": ["sg-admin"]},
                {"id": "eni-quiet", "subnet_id": "subnet-b", "private_ip": "10.0.1.31", "security_group_ids": ["sg-quiet"]},
                {"id": "eni-bare", "subnet_id": "subnet-b", "private_ip": "10.0.1.40", "security_group_ids": []},
            ],
        },
        "sg-lab",
    )  # fmt: skip


OWN = {
    "eni-web1": ["10.0.0.10", "2001:db8:1::10", "2001:0db8:0001:0000:0000:0000:0000:0010"],
    "eni-web2": ["10.0.0.11"],
    "eni-db": ["10.0.1.20", "10.0.1.21"],
    "eni-admin": ["10.0.1.30"],
    "eni-bare": ["10.0.1.40"],
}
INSIDE = ["10.0.0.10", "10.0.0.11", "10.0.1.20", "10.0.1.21", "10.0.1.30", "10.0.1.40", "2001:db8:1::10"]
OUTSIDE = ["192.0.2.7", "192.0.2.200", "198.51.100.9", "203.0.113.5", "2600:1f18::7", "not-an-address"]


def seeded_records(seed: int) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for _ in range(3000):
        eni = rng.choice(sorted(OWN))
        destination = rng.choice(OWN[eni] + ["10.0.9.9", "2001:db8:1::99"])  # or routed through
        source = rng.choice(INSIDE + OUTSIDE + [f"203.0.{rng.randrange(2)}.{rng.randrange(1, 255)}"])
        proto = rng.choice([6, 6, 6, 17, 1])
        sport, dport = rng.choice([(40000, 443), (50000, 22), (33000, 5432), (443, 40001), (5001, 5003),
                                   (41000, 8050), (0, 0), (60000, 3389)]) if proto != 1 else (0, 0)  # fmt: skip
        records.append(
            flow(source, destination, sport, dport, proto=proto, eni=eni, start=T0 + rng.randrange(3600),
                 action=rng.choice(["ACCEPT", "ACCEPT", "ACCEPT", "REJECT"]),
                 flow_direction=rng.choice([None, "ingress", "ingress", "egress"]),
                 tcp_flags=rng.choice([None, 0, 1, 2, 3, 18, 19]) if proto == 6 else 0)
        )  # fmt: skip
    # a public service: more than MANY_SOURCES distinct sources on one port of web2
    records += [
        flow(
            f"198.18.{i // 200}.{i % 200 + 1}",
            "10.0.0.11",
            40000,
            443,
            eni="eni-web2",
            flow_direction="ingress",
        )
        for i in range(MANY_SOURCES + 5)
    ]
    # as many IPv6 ones: no IPv4 rule admits them
    records += [
        flow(f"2600:1f18::{i + 1:x}", "2001:db8:1::10", 40000, 443, eni="eni-web1", flow_direction="ingress")
        for i in range(MANY_SOURCES + 1)
    ]
    # exactly MANY_SOURCES: still listed, as the CIDRs that cover them
    records += [
        flow(f"198.19.0.{2 * i + 1}", "10.0.1.30", 40000, 2222, eni="eni-admin", flow_direction="ingress")
        for i in range(MANY_SOURCES)
    ]
    return records


def _is_request(r: dict) -> bool:
    flags = r.get("tcp_flags")
    if flags is not None and flags & 18 == 18:
        return False
    if flags is not None and flags & 2:
        return True
    return r["dstport"] <= r["srcport"]


def expected(model, records: list[dict]) -> list[tuple]:
    enis = {e.id: e for e in model.network_interfaces if e.security_group_ids}
    groups = {sg.id: sg for sg in model.security_groups}
    flows: dict[tuple, int] = defaultdict(int)  # (label, protocol, port, source) -> records
    for r in records:
        eni = enis.get(r["interface_id"])
        if eni is None or r["action"] != "ACCEPT" or (r.get("flow_direction") or "ingress") != "ingress":
            continue
        try:
            source, destination = ipaddress.ip_address(r["srcaddr"]), ipaddress.ip_address(r["dstaddr"])
        except ValueError:
            continue
        if destination in eni.addresses and _is_request(r):
            flows[(",".join(eni.security_group_ids), r["protocol"], r["dstport"], str(source))] += 1
    rows = []
    for label in sorted({",".join(e.security_group_ids) for e in enis.values()}):
        rules = [(g, i, rule) for g in label.split(",") for i, rule in enumerate(groups[g].ingress, 1)]
        existing = {(rule.protocol, _ports(rule), rule.peer) for _, _, rule in rules}
        needed: dict[tuple, dict] = defaultdict(dict)
        used: dict[tuple, int] = defaultdict(int)
        for (lab, proto, port, src), n in flows.items():
            if lab == label:
                needed[(proto, port)][src] = n
                for g, i, rule in rules:
                    used[(g, i)] += n if _admits(model, rule, proto, port, src) else 0
        for (proto, port), sources in sorted(needed.items()):
            shown = str(port) if proto in (6, 17) else None
            for peer, n in _peers(model, sources):
                status = "needed (exists)" if (proto, shown, peer) in existing else "needed"
                rows.append((label, status, NAMES[proto], shown, peer, n))
        for g, i, rule in rules:
            rows.append(
                (
                    g,
                    "used" if used[(g, i)] else "unused",
                    NAMES[rule.protocol],
                    _ports(rule),
                    rule.peer,
                    used[(g, i)],
                )
            )
    return rows


def _ports(rule):
    if rule.protocol not in (6, 17):
        return None
    low, high = rule.from_port or 0, 65535 if rule.to_port is None else rule.to_port
    return str(low) if low == high else f"{low}-{high}"


def _admits(model, rule, protocol, port, src) -> bool:
    if rule.protocol not in (-1, protocol):
        return False
    if protocol in (6, 17) and rule.protocol != -1:
        low, high = rule.from_port or 0, 65535 if rule.to_port is None else rule.to_port
        if not low <= port <= high:
            return False
    addr = ipaddress.ip_address(src)
    if rule.cidr is not None:
        return addr.version == rule.cidr.version and addr in rule.cidr
    if rule.group_id is not None:
        eni = model.interface_for_ip(addr)
        return eni is not None and rule.group_id in eni.security_group_ids
    return any(addr.version == c.version and addr in c for c in model.prefix_list(rule.prefix_list_id).cidrs)


def _peers(model, sources: dict) -> list[tuple[str, int]]:
    inside, outside = defaultdict(int), {}
    for src, n in sources.items():
        eni = model.interface_for_ip(src)
        if eni is not None and eni.security_group_ids:
            inside[eni.security_group_ids[0]] += n
        else:
            outside[src] = n
    out = sorted(inside.items())
    for family, everyone in ((4, "0.0.0.0/0"), (6, "::/0")):
        mine = {
            ipaddress.ip_address(s): n
            for s, n in outside.items()
            if ipaddress.ip_address(s).version == family
        }
        if len(mine) > MANY_SOURCES:
            out.append((everyone, sum(mine.values())))
            continue
        for net in ipaddress.collapse_addresses(sorted(mine)):
            out.append((str(net), sum(n for a, n in mine.items() if a in net)))
    return out


def got_rows(table) -> list[tuple]:
    keys = ("security_groups", "status", "protocol", "port", "peer", "records")
    return [tuple(g[k] for k in keys) for g in table.to_pylist()]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sg_suggest_matches_plain_python(tmp_path, seed):
    model = lab_model()
    records = seeded_records(seed)
    got = run_report("sg-suggest", open_lake(write_lake(tmp_path, records)), Options(model=model))
    want = expected(model, records)
    assert got_rows(got.table) == want
    assert any(
        r[1] == "needed (exists)" and r[4] == "0.0.0.0/0" and r[5] > 32 for r in want
    )  # a public service
    assert any(r[1] == "needed" and r[4].endswith("/128") for r in want)  # an IPv6 source
    assert any(
        r[1] == "needed (exists)" and r[4] == "::/0" and r[5] > 32 for r in want
    )  # IPv6 public service
    assert any(r[1].startswith("needed") and r[4].startswith("sg-") for r in want)  # a group as the peer
    assert {r[0] for r in want if r[1] == "used"} == {"sg-web", "sg-db", "sg-admin"}
    assert ("sg-quiet", "unused", "tcp", "3389", "0.0.0.0/0", 0) in want
    assert sum(r[4].startswith("198.19.0.") for r in want) == MANY_SOURCES  # odd addresses: no two merge


def test_sg_suggest_needs_no_rule_for_replies(tmp_path):
    """Replies to the interface's own connections are let in by the groups' state (vpc.md §5.2):
    S3 answering from 443, a SYN-ACK to a high port from a low one, a reply whose flags say so
    though its ports do not."""
    model = lab_model()
    replies = [
        flow("52.218.1.1", "10.0.0.10", 443, 40000 + i, eni="eni-web1", flow_direction="ingress")
        for i in range(5)
    ]
    replies.append(flow("203.0.113.5", "10.0.0.10", 40000, 8080, eni="eni-web1", tcp_flags=18))
    request = flow("203.0.113.5", "10.0.0.10", 40000, 443, eni="eni-web1", tcp_flags=2)
    got = run_report("sg-suggest", open_lake(write_lake(tmp_path, [*replies, request])), Options(model=model))
    needed = [
        (g["port"], g["peer"], g["records"])
        for g in got.table.to_pylist()
        if g["status"].startswith("needed")
    ]
    assert needed == [("443", "203.0.113.5/32", 1)]


def test_sg_suggest_on_a_model_without_security_groups(tmp_path):
    model = lab_model()
    bare = model.model_copy(
        update={
            "network_interfaces": tuple(
                e.model_copy(update={"security_group_ids": ()}) for e in model.network_interfaces
            )
        }
    )
    records = [flow("203.0.113.5", "10.0.0.10", 40000, 443, eni="eni-web1", flow_direction="ingress")]
    got = run_report("sg-suggest", open_lake(write_lake(tmp_path, records)), Options(model=bare))
    assert got.table.num_rows == 0 and got.notes[0].startswith("0 accepted inbound")
