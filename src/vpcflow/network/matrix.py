"""Bulk reachability: every (source ENI, destination ENI, port) at once, vectorised with numpy.

`reach_matrix(model, sources, destinations, ports)` answers the same question as
`evaluate_flow(model, src, dst.private_ip, protocol, port, src_port=src_port).reachable` for every
triple, without walking each flow. It works per security group and per network ACL instead of per
flow: a group's rules become one boolean vector over all interfaces (as peers) per port, an
interface's verdict is the OR over its groups (a matrix product), a NACL's first-match rules become
one vector per port. Route tables are looked up once per (route table, destination).

Pairs it does not vectorise - different VPCs, a non-local route between subnets (appliances,
peering), interfaces that are not plain instance/ENI interfaces, protocols other than TCP and
UDP - fall back to `evaluate_flow`, so the answer is always the engine's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network

import numpy as np

from vpcflow.network.model import (
    InterfaceType,
    NaclRule,
    NetworkInterface,
    SecurityGroup,
    SecurityGroupRule,
    protocol_number,
)
from vpcflow.network.reach import evaluate_flow
from vpcflow.network.routing import route_for
from vpcflow.network.store import Model

DEFAULT_BULK_SOURCE_PORT = (
    50000  # **Choice:** one client port for the whole matrix (inside every common ephemeral range)
)


@dataclass(frozen=True)
class ReachMatrix:
    sources: tuple[str, ...]  # ENI ids
    destinations: tuple[str, ...]
    ports: tuple[int, ...]
    reachable: np.ndarray  # bool[port, source, destination]
    fallback_pairs: int  # (source, destination) pairs answered by evaluate_flow

    def __call__(self, source: str, destination: str, port: int) -> bool:
        return bool(
            self.reachable[
                self.ports.index(port), self.sources.index(source), self.destinations.index(destination)
            ]
        )


def _ip_ints(enis: Sequence[NetworkInterface]) -> np.ndarray:
    return np.array([int(e.private_ip) for e in enis], dtype=np.uint64)


def _in_cidr(ips: np.ndarray, cidr: object) -> np.ndarray:
    if not isinstance(cidr, IPv4Network):
        return np.zeros(len(ips), dtype=bool)
    mask = np.uint64(int(cidr.netmask))
    return (ips & mask) == np.uint64(int(cidr.network_address))


def _port_ok(rule_proto: int, low: int | None, high: int | None, proto: int, port: int) -> bool:
    if rule_proto == -1:
        return True
    if rule_proto != proto:
        return False
    return low is None or low == -1 or low <= port <= (high if high is not None else low)


def _sg_vectors(
    model: Model, groups: list[str], direction: str, peers: list[NetworkInterface], proto: int, port: int
) -> np.ndarray:
    """allowed[group, peer]: does the group's `direction` rule set admit this peer on this port?"""
    ips = _ip_ints(peers)
    out = np.zeros((len(groups), len(peers)), dtype=np.float32)
    peer_member = {g: np.array([g in e.security_group_ids for e in peers]) for g in groups}
    for gi, gid in enumerate(groups):
        sg = model.get(gid, SecurityGroup)
        rules: tuple[SecurityGroupRule, ...] = sg.ingress if direction == "ingress" else sg.egress
        acc = np.zeros(len(peers), dtype=bool)
        for rule in rules:
            if not _port_ok(rule.protocol, rule.from_port, rule.to_port, proto, port):
                continue
            if rule.cidr is not None:
                acc |= _in_cidr(ips, rule.cidr)
            elif rule.prefix_list_id is not None:
                pl = model.prefix_list(rule.prefix_list_id)
                for cidr in pl.cidrs if pl else ():
                    acc |= _in_cidr(ips, cidr)
            elif rule.group_id in peer_member:
                acc |= peer_member[rule.group_id]
            else:
                acc |= np.array([rule.group_id in e.security_group_ids for e in peers])
        out[gi] = acc
    return out


def _nacl_vector(rules: tuple[NaclRule, ...], peers_ips: np.ndarray, proto: int, port: int) -> np.ndarray:
    decided = np.zeros(len(peers_ips), dtype=bool)
    allowed = np.zeros(len(peers_ips), dtype=bool)
    for rule in sorted(rules, key=lambda r: r.rule_number):
        if not _port_ok(rule.protocol, rule.from_port, rule.to_port, proto, port):
            continue
        hit = _in_cidr(peers_ips, rule.cidr) & ~decided
        allowed |= hit & (rule.action == "allow")
        decided |= hit
    return allowed


def reach_matrix(
    model: Model,
    sources: Sequence[str | NetworkInterface],
    destinations: Sequence[str | NetworkInterface],
    ports: Sequence[int],
    protocol: str | int = "tcp",
    src_port: int = DEFAULT_BULK_SOURCE_PORT,
) -> ReachMatrix:
    """reachable[port, source, destination] for destination ENIs addressed by their private IPv4."""
    proto = protocol_number(protocol)
    src = [s if isinstance(s, NetworkInterface) else model.get(s, NetworkInterface) for s in sources]
    dst = [d if isinstance(d, NetworkInterface) else model.get(d, NetworkInterface) for d in destinations]
    ports = tuple(ports)
    result = np.zeros((len(ports), len(src), len(dst)), dtype=bool)
    if not src or not dst or not ports:
        return ReachMatrix(tuple(e.id for e in src), tuple(e.id for e in dst), ports, result, 0)

    every = {e.id: e for e in (*src, *dst)}
    enis = list(every.values())
    index = {e.id: i for i, e in enumerate(enis)}
    si = np.array([index[e.id] for e in src])
    di = np.array([index[e.id] for e in dst])
    subnets = [model.subnet_of(e) for e in enis]
    vpc_of = np.array([hash(s.vpc_id) for s in subnets])
    subnet_ids = sorted({s.id for s in subnets})
    subnet_idx = np.array([subnet_ids.index(s.id) for s in subnets])
    ips = _ip_ints(enis)
    groups = sorted({g for e in enis for g in e.security_group_ids})
    member = np.zeros((len(enis), len(groups)), dtype=np.float32)
    for i, e in enumerate(enis):
        for g in e.security_group_ids:
            member[i, groups.index(g)] = 1.0

    def plain(e: NetworkInterface) -> bool:
        inst = model.instance_of(e)
        return (
            e.interface_type is InterfaceType.interface
            and model.nat_gateway_of(e) is None
            and model.endpoint_of(e) is None
            and (inst is None or inst.state == "running")
        )

    simple = np.array([plain(e) for e in enis])
    # Route tables: is the route from each subnet to each destination the local one?
    tables = {sid: model.route_table_for_subnet(sid).id for sid in subnet_ids}
    local = np.zeros((len(subnet_ids), len(enis)), dtype=bool)
    for a, sid in enumerate(subnet_ids):
        for j, e in enumerate(enis):
            route = route_for(model, tables[sid], e.private_ip).route
            local[a, j] = route is not None and route.state == "active" and route.target == "local"
    acls = [model.network_acl_for_subnet(sid) for sid in subnet_ids]

    same_vpc = vpc_of[si][:, None] == vpc_of[di][None, :]
    same_subnet = subnet_idx[si][:, None] == subnet_idx[di][None, :]
    vectorised = (
        same_vpc
        & simple[si][:, None]
        & simple[di][None, :]
        & (same_subnet | (local[subnet_idx[si]][:, di] & local[subnet_idx[di]][:, si].T))
    )
    vectorised &= np.array(si)[:, None] != np.array(di)[None, :]
    if proto not in (6, 17):
        vectorised[:] = False

    # Return NACLs see the client's port as destination port: independent of the service port.
    back_out = np.stack([_nacl_vector(a.outbound, ips, proto, src_port) for a in acls])  # [subnet, peer]
    back_in = np.stack([_nacl_vector(a.inbound, ips, proto, src_port) for a in acls])
    for k, port in enumerate(ports):
        egress = member @ _sg_vectors(model, groups, "egress", enis, proto, port) > 0  # [eni, peer]
        ingress = member @ _sg_vectors(model, groups, "ingress", enis, proto, port) > 0
        out_acl = np.stack([_nacl_vector(a.outbound, ips, proto, port) for a in acls])
        in_acl = np.stack([_nacl_vector(a.inbound, ips, proto, port) for a in acls])
        ok = egress[si][:, di] & ingress[di][:, si].T
        crossing = out_acl[subnet_idx[si]][:, di] & in_acl[subnet_idx[di]][:, si].T
        crossing &= back_out[subnet_idx[di]][:, si].T & back_in[subnet_idx[si]][:, di]
        result[k] = vectorised & ok & (same_subnet | crossing)

    fallback = np.argwhere(~vectorised & (si[:, None] != di[None, :]))
    for a, b in fallback:
        for k, port in enumerate(ports):
            result[k, a, b] = evaluate_flow(
                model, src[a], dst[b].private_ip, proto, port, src_port=src_port
            ).reachable
    return ReachMatrix(tuple(e.id for e in src), tuple(e.id for e in dst), ports, result, len(fallback))
