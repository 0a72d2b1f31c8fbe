"""The VPC model's side of sg-suggest as small Arrow tables, so that the report's rule matching is
a join in DuckDB, not a Python loop per (interface, protocol, port, source).

Addresses are (family, number) as `vpcflow.reports.enrich.address` parses the lake's text (the
number as decimal text, cast to UHUGEINT in SQL: Arrow has no 128-bit integer), so IPv6 matches
whatever its spelling.
"""

from __future__ import annotations

import ipaddress

import pyarrow as pa

ANY_PORTS = (0, 65535)


def label(eni) -> str:
    """An interface's group set, as the report names it ("sg-a,sg-b")."""
    return ",".join(eni.security_group_ids)


def labels(enis: dict) -> pa.Table:
    """Each interface with security groups and its group set."""
    ids = sorted(enis)
    return pa.table(
        {"eni": pa.array(ids, pa.string()), "label": pa.array([label(enis[i]) for i in ids], pa.string())}
    )


def own_addresses(enis: dict) -> pa.Table:
    """The addresses of each interface itself: traffic to them is what its groups admit."""
    rows = [(eni_id, a) for eni_id, eni in sorted(enis.items()) for a in eni.addresses]
    return _addresses([r[0] for r in rows], [r[1] for r in rows])


def members(model) -> pa.Table:
    """Every interface address of the model with the interface that `model.interface_for_ip` names
    for it (the first, when VPCs overlap): its first security group (`sg`, null without any), the
    peer sg-suggest names for a source inside the model, and all its groups, for group rules."""
    seen: dict = {}
    for eni in model.network_interfaces:
        for address in eni.addresses:
            if address not in seen:
                seen[address] = model.interface_for_ip(address)
    addresses = [a for a, eni in seen.items() if eni is not None]
    table = _addresses([seen[a].id for a in addresses], addresses)
    groups = [list(seen[a].security_group_ids) for a in addresses]
    return table.append_column(
        "sg", pa.array([g[0] if g else None for g in groups], pa.string())
    ).append_column("groups", pa.array(groups, pa.list_(pa.string())))


def rule_ranges(model, enis: dict, members: pa.Table) -> pa.Table:
    """Per group set and ingress rule of its groups, the protocol, ports and address ranges the rule
    admits: a CIDR is one range, a prefix list one per entry, a group reference one per address of
    the interfaces in that group (`members`, as `model.interface_for_ip` finds them)."""
    groups = {sg.id: sg for sg in model.security_groups}
    in_group: dict[str, list] = {}
    for address, group_ids in zip(
        members.column("address").to_pylist(), members.column("groups").to_pylist(), strict=True
    ):
        for gid in group_ids:
            in_group.setdefault(gid, []).append(address)
    columns: dict[str, list] = {k: [] for k in ("label", "gid", "i", "proto", "lo_port", "hi_port")}
    family, lo, hi = [], [], []
    for group_set in sorted({label(e) for e in enis.values()}):
        for gid in group_set.split(","):
            for i, rule in enumerate(groups[gid].ingress if gid in groups else (), 1):
                low, high = ports(rule) or ANY_PORTS
                for network in _networks(model, rule, in_group):
                    for key, value in zip(
                        columns, (group_set, gid, i, rule.protocol, low, high), strict=True
                    ):
                        columns[key].append(value)
                    family.append(network.version)
                    lo.append(str(int(network.network_address)))
                    hi.append(str(int(network.broadcast_address)))
    table = pa.table({k: pa.array(v, pa.int64() if k in ("i", "proto", "lo_port", "hi_port") else pa.string())
                      for k, v in columns.items()})  # fmt: skip
    return (
        table.append_column("family", pa.array(family, pa.int8()))
        .append_column("lo", pa.array(lo, pa.string()))
        .append_column("hi", pa.array(hi, pa.string()))
    )


def ports(rule) -> tuple[int, int] | None:
    """A TCP or UDP rule's port range; None for other protocols (they have no ports)."""
    if rule.protocol not in (6, 17):
        return None
    return (
        rule.from_port if rule.from_port is not None else 0,
        rule.to_port if rule.to_port is not None else 65535,
    )


def _networks(model, rule, in_group: dict[str, list]) -> list:
    if rule.cidr is not None:
        return [ipaddress.ip_network(str(rule.cidr), strict=False)]
    if rule.group_id is not None:
        return [ipaddress.ip_network(a) for a in in_group.get(rule.group_id, ())]
    if rule.prefix_list_id:
        prefix_list = model.prefix_list(rule.prefix_list_id)
        entries = getattr(prefix_list, "entries", None) or getattr(prefix_list, "cidrs", None) or ()
        return [ipaddress.ip_network(str(getattr(e, "cidr", e)), strict=False) for e in entries]
    return []


def _addresses(enis: list[str], addresses: list) -> pa.Table:
    parsed = [ipaddress.ip_address(a) for a in addresses]
    return pa.table(
        {
            "eni": pa.array(enis, pa.string()),
            "address": pa.array([str(a) for a in parsed], pa.string()),
            "family": pa.array([a.version for a in parsed], pa.int8()),
            "number": pa.array([str(int(a)) for a in parsed], pa.string()),
        }
    )
