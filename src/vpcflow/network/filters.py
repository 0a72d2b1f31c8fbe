"""Security groups (stateful, allow-only, per ENI) and network ACLs (stateless, numbered, per subnet).

Spec vpc.md §5 and §6. A verdict names the rule that decided it, so that a trace and a flow log
record can say which rule accepted or rejected a packet.

Ports: for TCP and UDP the packet's destination port; for ICMP the ICMP type and code (a rule's
from_port is the type, to_port the code, -1 any). SG group references match the *primary private
address* of an ENI in the referenced group (AWS: "the private IP addresses of the instances
associated with" the group), so NATed or public sources never match a group rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from vpcflow.network.model import PROTOCOL_NAMES, NaclRule, NetworkAcl, SecurityGroup, SecurityGroupRule
from vpcflow.network.store import Model

Address = IPv4Address | IPv6Address
ICMP = (1, 58)


@dataclass(frozen=True)
class FilterVerdict:
    """The outcome of one SG set or one NACL for one packet, with the deciding rule."""

    component: str  # sg-... (the group holding the rule, or the first group when none matched) / acl-...
    kind: str  # "security-group" | "network-acl"
    direction: str  # ingress/egress (SG) or inbound/outbound (NACL)
    allowed: bool
    rule: str  # human label of the deciding rule, "no rule matched" / "rule * (deny)"
    rule_number: int | None = None  # NACL rule number; None for `*`

    @property
    def action(self) -> str:
        return "ACCEPT" if self.allowed else "REJECT"


def describe_ports(protocol: int, from_port: int | None, to_port: int | None) -> str:
    name = PROTOCOL_NAMES.get(protocol, str(protocol))
    if protocol == -1:
        return "all traffic"
    if protocol in ICMP:
        kind = "any type" if from_port in (None, -1) else f"type {from_port}"
        code = "" if to_port in (None, -1) else f" code {to_port}"
        return f"{name} {kind}{code}"
    if protocol not in (6, 17) or from_port is None or (from_port, to_port) in ((0, 65535), (-1, -1)):
        return f"{name} all ports" if protocol in (6, 17) else name
    return f"{name} {from_port}" if from_port == to_port else f"{name} {from_port}-{to_port}"


def _ports_match(
    protocol: int, rule_proto: int, low: int | None, high: int | None, port: int | None, code: int | None
) -> bool:
    if rule_proto != -1 and rule_proto != protocol:
        return False
    if rule_proto == -1 or port is None:
        return True
    if protocol in ICMP:
        type_ok = low in (None, -1) or low == port
        code_ok = high in (None, -1) or code is None or high == code
        return type_ok and code_ok
    if protocol in (6, 17):
        return low is None or (low <= port <= (high if high is not None else low)) or (low == -1)
    return True


def _sg_peer_match(model: Model, rule: SecurityGroupRule, peer: Address, peer_groups: frozenset[str]) -> bool:
    if rule.cidr is not None:
        return rule.cidr.version == peer.version and peer in rule.cidr
    if rule.prefix_list_id is not None:
        pl = model.prefix_list(rule.prefix_list_id)
        return pl is not None and any(c.version == peer.version and peer in c for c in pl.cidrs)
    return rule.group_id in peer_groups


def security_groups(
    model: Model,
    group_ids: Iterable[str],
    direction: str,
    peer: Address,
    protocol: int,
    port: int | None,
    *,
    icmp_code: int | None = None,
    peer_groups: frozenset[str] = frozenset(),
) -> FilterVerdict:
    """Do the rules of `group_ids` (aggregated, as AWS does) allow this packet in `direction`?

    `peer` is the other end's address as the packet carries it; `peer_groups` the security groups
    of the peer ENI when the peer is an ENI reached by its private address in this or a peered VPC.
    """
    group_ids = tuple(group_ids)
    key = ("sg", group_ids, direction, peer, protocol, port, icmp_code, peer_groups)
    cached = model.cache.get(key)
    if cached is not None:
        return cached
    verdict = None
    for gid in group_ids:
        sg = model.get(gid, SecurityGroup)
        rules: tuple[SecurityGroupRule, ...] = sg.ingress if direction == "ingress" else sg.egress
        for i, rule in enumerate(rules):
            if _ports_match(
                protocol, rule.protocol, rule.from_port, rule.to_port, port, icmp_code
            ) and _sg_peer_match(model, rule, peer, peer_groups):
                label = f"{gid} {direction} rule {i + 1}: {describe_ports(rule.protocol, rule.from_port, rule.to_port)} {'from' if direction == 'ingress' else 'to'} {rule.peer}"
                verdict = FilterVerdict(gid, "security-group", direction, True, label)
                break
        if verdict:
            break
    if verdict is None:
        where = ", ".join(group_ids) or "(no security groups)"
        verdict = FilterVerdict(
            group_ids[0] if group_ids else "-",
            "security-group",
            direction,
            False,
            f"no {direction} rule of {where} matches",
        )
    model.cache[key] = verdict
    return verdict


def _nacl_rules(acl: NetworkAcl, direction: str) -> tuple[NaclRule, ...]:
    rules = acl.inbound if direction == "inbound" else acl.outbound
    return tuple(sorted(rules, key=lambda r: r.rule_number))


def network_acl(
    model: Model,
    acl: NetworkAcl,
    direction: str,
    peer: Address,
    protocol: int,
    port: int | None,
    *,
    icmp_code: int | None = None,
) -> FilterVerdict:
    """First matching rule by number; the implicit `*` rule denies. Inbound rules match the source
    address, outbound rules the destination; ports are the packet's destination port."""
    key = ("nacl", acl.id, direction, peer, protocol, port, icmp_code)
    cached = model.cache.get(key)
    if cached is not None:
        return cached
    verdict = None
    for rule in _nacl_rules(acl, direction):
        if rule.cidr.version != peer.version or peer not in rule.cidr:
            continue
        low, high = (rule.icmp_type, rule.icmp_code) if protocol in ICMP else (rule.from_port, rule.to_port)
        if _ports_match(protocol, rule.protocol, low, high, port, icmp_code):
            label = f"{acl.id} {direction} rule {rule.rule_number}: {rule.action} {describe_ports(rule.protocol, low, high)} {'from' if direction == 'inbound' else 'to'} {rule.cidr}"
            verdict = FilterVerdict(
                acl.id, "network-acl", direction, rule.action == "allow", label, rule.rule_number
            )
            break
    if verdict is None:
        verdict = FilterVerdict(
            acl.id,
            "network-acl",
            direction,
            False,
            f"{acl.id} {direction} rule *: deny (no numbered rule matches)",
        )
    model.cache[key] = verdict
    return verdict
