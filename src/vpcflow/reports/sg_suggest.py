"""Least-privilege security group rules for the accepted inbound traffic seen, against the rules in place.

For each interface of the model that has security groups, the period's ACCEPT records whose
destination is one of the interface's own addresses (inbound) are grouped by protocol, port and
source. Each group of the interface's security groups gets:

- `needed`: a rule the traffic needed, as narrow as the traffic allows - protocol, one port,
  and the narrowest peer: the security group of the source interface when the source is in the
  model (AWS's idiom for traffic inside a VPC), else the sources' addresses collapsed into CIDRs;
  more than `MANY_SOURCES` distinct outside addresses on one port become 0.0.0.0/0 (a public
  service), which the note says.
- `used` / `unused`: every current ingress rule with the records it would admit; `unused` rules
  admitted nothing over the period (candidates for removal - the period may be too short to tell).

Choices (AWS is silent): egress rules are not analysed (most groups allow all egress); a source
interface with several groups is referenced by its first.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict

import pyarrow as pa

from vpcflow.reports.base import Options, Result
from vpcflow.reports.explain import require_model
from vpcflow.reports.source import Source

NAME = "sg-suggest"
TITLE = "Security group rules: what the traffic needed, and what was never used"
MANY_SOURCES = 32
NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", -1: "all"}


def inbound_sql(source: Source, options: Options, enis: dict) -> str:
    """Accepted inbound traffic addressed to each interface itself. The address test is a join, so
    the engine returns only those flows (not every flow through the interface, which may be millions
    of rows on a busy NAT or load balancer). IPv6 text has several spellings, so an interface with an
    IPv6 address has all of its rows returned and is matched by address value in Python."""
    pairs = []
    for eni_id, eni in sorted(enis.items()):
        addresses = [ipaddress.ip_address(a) for a in eni.addresses]
        if any(a.version == 6 for a in addresses):
            pairs.append(f"('{eni_id}', NULL)")
        else:
            pairs.extend(f"('{eni_id}', '{a}')" for a in addresses)
    values = ", ".join(pairs) or "(NULL, NULL)"
    return f"""
        SELECT v.interface_id, v.protocol, v.dstport AS port, v.srcaddr AS source, v.dstaddr AS destination,
               count(*) AS records
        FROM vpc_flow_logs v
        JOIN (VALUES {values}) AS t(eni, address)
          ON v.interface_id = t.eni AND (t.address IS NULL OR v.dstaddr = t.address)
        WHERE v.action = 'ACCEPT' AND v.srcaddr IS NOT NULL AND {source.where(options.period)}
          AND coalesce(v.flow_direction, 'ingress') = 'ingress'
        GROUP BY v.interface_id, v.protocol, v.dstport, v.srcaddr, v.dstaddr
    """


def _rule_admits(model, rule, protocol: int, port: int, src: str) -> bool:
    if rule.protocol not in (-1, protocol):
        return False
    if protocol in (6, 17) and rule.protocol != -1:
        low = rule.from_port if rule.from_port is not None else 0
        high = rule.to_port if rule.to_port is not None else 65535
        if not low <= port <= high:
            return False
    addr = ipaddress.ip_address(src)
    if rule.cidr is not None:
        network = ipaddress.ip_network(str(rule.cidr), strict=False)
        return addr.version == network.version and addr in network
    if rule.group_id is not None:
        eni = model.interface_for_ip(addr)
        return eni is not None and rule.group_id in eni.security_group_ids
    prefix_list = model.prefix_list(rule.prefix_list_id) if rule.prefix_list_id else None
    entries = getattr(prefix_list, "entries", None) or getattr(prefix_list, "cidrs", None) or ()
    return any(addr in ipaddress.ip_network(str(getattr(e, "cidr", e)), strict=False) for e in entries)


def run(source: Source, options: Options) -> Result:
    model = require_model(options, NAME)
    enis = {e.id: e for e in model.network_interfaces if e.security_group_ids}
    flows = source.query(inbound_sql(source, options, enis)).to_pylist()
    # Only traffic addressed to the interface itself (not routed through it) says what its groups need.
    own = {eni_id: {ipaddress.ip_address(a) for a in e.addresses} for eni_id, e in enis.items()}
    flows = [f for f in flows if ipaddress.ip_address(f["destination"]) in own[f["interface_id"]]]

    rows: list[dict] = []
    # Every group set in the model, with or without traffic: a group nobody reached has only unused rules.
    by_groups: dict[tuple[str, ...], list[dict]] = {tuple(e.security_group_ids): [] for e in enis.values()}
    for f in flows:
        by_groups[tuple(enis[f["interface_id"]].security_group_ids)].append(f)
    groups = {sg.id: sg for sg in model.security_groups}
    for group_ids, seen in sorted(by_groups.items()):
        label = ",".join(group_ids)
        rules = [
            (gid, i, rule)
            for gid in group_ids
            if gid in groups
            for i, rule in enumerate(groups[gid].ingress, 1)
        ]
        used = defaultdict(int)
        needed: dict[tuple[int, int], dict] = defaultdict(
            lambda: {"sources": defaultdict(int), "narrow": True}
        )
        for f in seen:
            admitted = [
                (gid, i)
                for gid, i, rule in rules
                if _rule_admits(model, rule, f["protocol"], f["port"], f["source"])
            ]
            for key in admitted:
                used[key] += f["records"]
            needed[(f["protocol"], f["port"])]["sources"][f["source"]] += f["records"]
        existing = {(rule.protocol, _ports(rule), rule.peer) for _, _, rule in rules}
        for (protocol, port), need in sorted(needed.items()):
            shown = str(port) if protocol in (6, 17) else None
            for peer, records, note in _peers(model, need["sources"]):
                status = "needed (exists)" if (protocol, shown, peer) in existing else "needed"
                rows.append(_row(label, status, protocol, shown, peer, records, note))
        for gid, i, rule in rules:
            count = used.get((gid, i), 0)
            ports = _ports(rule)
            rows.append(
                _row(
                    gid,
                    "used" if count else "unused",
                    rule.protocol,
                    ports,
                    rule.peer,
                    count,
                    f"{gid} ingress rule {i}" + (f" ({rule.description})" if rule.description else ""),
                )
            )
    table = (
        pa.Table.from_pylist(rows)
        if rows
        else pa.table({k: pa.array([], pa.string()) for k in ("security_groups", "status")})
    )
    notes = [f"{len(flows)} accepted inbound (interface, protocol, port, source) groups over the period"]
    return Result(NAME, TITLE, table, notes)


def _peers(model, sources: dict[str, int]) -> list[tuple[str, int, str]]:
    inside: dict[str, int] = defaultdict(int)
    outside: dict[str, int] = {}
    for src, records in sources.items():
        eni = model.interface_for_ip(src)
        if eni is not None and eni.security_group_ids:
            inside[eni.security_group_ids[0]] += records
        else:
            outside[src] = records
    out = [(gid, records, "the source interface's security group") for gid, records in sorted(inside.items())]
    if len(outside) > MANY_SOURCES:
        out.append(
            ("0.0.0.0/0", sum(outside.values()), f"{len(outside)} distinct outside sources: a public service")
        )
    elif outside:
        networks = ipaddress.collapse_addresses(ipaddress.ip_network(s) for s in outside if ":" not in s)
        for net in networks:
            records = sum(r for s, r in outside.items() if ":" not in s and ipaddress.ip_address(s) in net)
            out.append((str(net), records, "observed sources"))
        out += [(f"{s}/128", r, "observed source") for s, r in outside.items() if ":" in s]
    return out


def _ports(rule) -> str | None:
    if rule.protocol not in (6, 17):
        return None
    low = rule.from_port if rule.from_port is not None else 0
    high = rule.to_port if rule.to_port is not None else 65535
    return str(low) if low == high else f"{low}-{high}"


def _row(groups, status, protocol, port, peer, records, note) -> dict:
    return {"security_groups": groups, "status": status, "protocol": NAMES.get(protocol, str(protocol)),
            "port": None if port is None else str(port), "peer": peer, "records": records, "note": note}  # fmt: skip
