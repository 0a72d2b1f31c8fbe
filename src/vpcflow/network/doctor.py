"""`doctor(model)`: the checks AWS's troubleshooting guides name, run over a whole model.

Each check looks at the configuration, not at one flow: a gateway endpoint that the route tables
of its callers do not use, private DNS that the VPC's DNS attributes switch off, a NAT gateway in a
subnet without a route to an internet gateway, a public subnet without one, instances that route
to the internet with no public address, admin ports open to the world, blackhole routes, groups
and NAT gateways nothing uses. A Finding names the check (`code`), its severity, the resource to
change, what is wrong and the AWS CLI call that fixes it.

Severities: `error` - traffic that the configuration sets up cannot flow (or, for open admin ports,
an interface with a public address is exposed); `warning` - risky or probably unintended;
`info` - housekeeping. `vpcflow doctor` exits 1 when there is an error finding.

Sources: spec vpc.md §9 (the Knowledge Center checklists for gateway endpoints, interface endpoint
private DNS and NAT gateways); CIS AWS Foundations 5.2/5.3 for remote administration ports.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from vpcflow.network.model import (
    InterfaceType,
    InternetGateway,
    NatGateway,
    NetworkInterface,
    RouteTable,
    RouteTarget,
    SecurityGroupRule,
    Subnet,
    VpcEndpoint,
)
from vpcflow.network.routing import route_for
from vpcflow.network.store import Model

# Remote administration ports (CIS AWS Foundations 5.2/5.3 name SSH 22 and RDP 3389; **Choice:**
# the other usual remote shells and consoles are added).
ADMIN_PORTS = {22: "SSH", 3389: "RDP", 23: "Telnet", 5900: "VNC", 5985: "WinRM", 5986: "WinRM over HTTPS"}
WORLD = (IPv4Network("0.0.0.0/0"), IPv6Network("::/0"))
DEFAULT_ROUTE = IPv4Network("0.0.0.0/0")


class Severity(enum.StrEnum):
    error = "error"
    warning = "warning"
    info = "info"


SEVERITY_ORDER = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    resource_id: str  # the resource to change
    vpc_id: str | None
    detail: str
    fix: str

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "resource_id": self.resource_id,
            "vpc_id": self.vpc_id,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class DoctorReport:
    findings: tuple[Finding, ...]
    source: str | None = None

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def has_errors(self) -> bool:
        return self.count(Severity.error) > 0

    @property
    def summary(self) -> str:
        return ", ".join(f"{self.count(s)} {s.value}{'s' if self.count(s) != 1 else ''}" for s in Severity)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.source,
            "summary": {s.value: self.count(s) for s in Severity},
            "findings": [f.to_json() for f in self.findings],
        }

    def __rich__(self) -> Group:
        if not self.findings:
            return Group(Text(f"No findings in {self.source or 'the model'}."))
        table = Table(show_lines=True, header_style="bold")
        for name in ("severity", "code", "resource", "detail", "fix"):
            table.add_column(name, no_wrap=name in ("severity", "code", "resource"))
        styles = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "dim"}
        for f in self.findings:
            table.add_row(
                Text(f.severity.value, style=styles[f.severity]), f.code, f.resource_id, f.detail, f.fix
            )
        return Group(table, Text(self.summary))


Check = Callable[[Model], Iterable[Finding]]
CHECKS: dict[str, Check] = {}


def check(code: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[code] = fn
        return fn

    return register


def doctor(model: Model, codes: Iterable[str] | None = None) -> DoctorReport:
    """Run the checks (all, or those named) and return the findings, errors first."""
    chosen = list(codes) if codes is not None else list(CHECKS)
    unknown = [c for c in chosen if c not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check {unknown[0]!r}; checks: {', '.join(CHECKS)}")
    findings = [f for code in chosen for f in CHECKS[code](model)]
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.code, f.resource_id))
    return DoctorReport(tuple(findings), model.source)


# --- helpers -------------------------------------------------------------------------------------


def _instance_subnets(model: Model) -> dict[str, list[str]]:
    """subnet id -> the running instances with an interface there."""
    out: dict[str, list[str]] = defaultdict(list)
    for eni in model.network_interfaces:
        inst = model.instance_of(eni)
        if inst is not None and inst.state == "running" and inst.id not in out[eni.subnet_id]:
            out[eni.subnet_id].append(inst.id)
    return out


def _internet_route(model: Model, rt: RouteTable, vpc_id: str) -> tuple[bool, str]:
    """Does `rt` send 0.0.0.0/0 to an internet gateway attached to the VPC? (and what it does instead)"""
    for route in model.routes_of(rt.id):
        if route.destination_cidr == DEFAULT_ROUTE:
            igw = model.find(route.target)
            if route.state == "active" and isinstance(igw, InternetGateway) and igw.vpc_id == vpc_id:
                return True, f"0.0.0.0/0 -> {route.target}"
            state = " (blackhole)" if route.state == "blackhole" else ""
            return False, f"its 0.0.0.0/0 route goes to {route.target}{state}"
    return False, "it has no 0.0.0.0/0 route"


def _igw_of(model: Model, vpc_id: str) -> str:
    return next((g.id for g in model.internet_gateways if g.vpc_id == vpc_id), "<igw-id>")


def _default_route_fix(model: Model, rt: RouteTable) -> str:
    return f"aws ec2 create-route --route-table-id {rt.id} --destination-cidr-block 0.0.0.0/0 --gateway-id {_igw_of(model, rt.vpc_id)}"


def _listing(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# --- endpoints -----------------------------------------------------------------------------------


@check("ENDPOINT_NOT_ROUTED")
def endpoint_not_routed(model: Model) -> Iterator[Finding]:
    """Subnets with instances whose route table does not send the endpoint's service to it."""
    callers = _instance_subnets(model)
    for ep in model.vpc_endpoints:
        if ep.vpc_endpoint_type != "Gateway" or ep.state != "available":
            continue
        pl = model.prefix_list(ep.service_name)
        if pl is None or not pl.cidrs:
            continue
        by_table: dict[str, tuple[Severity, str, list[str]]] = {}
        for subnet in model.subnets:
            if subnet.vpc_id != ep.vpc_id or subnet.id not in callers:
                continue
            rt = model.route_table_for_subnet(subnet.id)
            verdict = _service_route(model, rt, ep, pl.cidrs)
            if verdict is None:
                continue
            severity, how = verdict
            known = by_table.setdefault(rt.id, (severity, how, []))
            known[2].append(f"{subnet.id} ({_listing(callers[subnet.id], 2)})")
        for rt_id, (severity, how, subnets) in sorted(by_table.items()):
            region = ep.service_region or "its Region"
            yield Finding(
                "ENDPOINT_NOT_ROUTED",
                severity,
                rt_id,
                ep.vpc_id,
                f"{rt_id} has no route to {ep.id} ({ep.service} in {region}, prefix list {pl.id}): {how}; used by {_listing(subnets)}",
                f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {ep.id} --add-route-table-ids {rt_id}",
            )


def _service_route(model: Model, rt: RouteTable, ep: VpcEndpoint, cidrs) -> tuple[Severity, str] | None:  # noqa: ANN001
    """None when every address of the prefix list routes to the endpoint, else how bad the detour is."""
    worst: tuple[Severity, str] | None = None
    calls = f"calls to {ep.service} in {ep.service_region}"
    for cidr in cidrs:
        probe = cidr.network_address + 1 if cidr.num_addresses > 1 else cidr.network_address
        route = route_for(model, rt.id, probe).route
        if route is not None and route.state == "active" and route.target == ep.id:
            continue
        if route is None or route.state == "blackhole":
            verdict = (
                Severity.error,
                f"{calls} time out (no route for {cidr})",
            )
        elif route.target_kind is RouteTarget.nat_gateway:
            verdict = (
                Severity.warning,
                f"{calls} go through {route.target} instead (NAT data charges, no endpoint policy)",
            )
        elif route.target_kind is RouteTarget.internet_gateway:
            verdict = (
                Severity.info,
                f"{calls} go through {route.target} instead (the endpoint policy does not apply)",
            )
        else:
            verdict = (Severity.warning, f"{calls} go to {route.target} instead")
        if worst is None or SEVERITY_ORDER[verdict[0]] < SEVERITY_ORDER[worst[0]]:
            worst = verdict
    return worst


@check("ENDPOINT_NO_ROUTE_TABLE")
def endpoint_without_route_tables(model: Model) -> Iterator[Finding]:
    for ep in model.vpc_endpoints:
        if ep.vpc_endpoint_type == "Gateway" and not ep.route_table_ids:
            yield Finding(
                "ENDPOINT_NO_ROUTE_TABLE",
                Severity.warning,
                ep.id,
                ep.vpc_id,
                f"gateway endpoint {ep.id} ({ep.service_name}) is in no route table: no subnet uses it",
                f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {ep.id} --add-route-table-ids <route table of the calling subnets>",
            )


@check("ENDPOINT_NO_SUBNET")
def endpoint_without_subnets(model: Model) -> Iterator[Finding]:
    for ep in model.vpc_endpoints:
        if ep.vpc_endpoint_type == "Interface" and not ep.network_interface_ids:
            yield Finding(
                "ENDPOINT_NO_SUBNET",
                Severity.warning,
                ep.id,
                ep.vpc_id,
                f"interface endpoint {ep.id} ({ep.service_name}) has no network interface in any subnet",
                f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {ep.id} --add-subnet-ids <subnet in each AZ of its callers>",
            )


@check("PRIVATE_DNS_NEEDS_VPC_DNS")
def private_dns_without_vpc_dns(model: Model) -> Iterator[Finding]:
    for ep in model.vpc_endpoints:
        if ep.vpc_endpoint_type != "Interface" or not ep.private_dns_enabled:
            continue
        vpc = model.find(ep.vpc_id)
        off = [
            (name, option)
            for name, option, on in (
                ("enableDnsSupport", "--enable-dns-support", getattr(vpc, "enable_dns_support", True)),
                ("enableDnsHostnames", "--enable-dns-hostnames", getattr(vpc, "enable_dns_hostnames", True)),
            )
            if not on
        ]
        if off:
            yield Finding(
                "PRIVATE_DNS_NEEDS_VPC_DNS",
                Severity.error,
                ep.id,
                ep.vpc_id,
                f"{ep.id} has private DNS on, but {ep.vpc_id} has {' and '.join(n for n, _ in off)} off: "
                f"{ep.service}.{ep.service_region}.amazonaws.com still resolves to public addresses",
                "; ".join(
                    f"aws ec2 modify-vpc-attribute --vpc-id {ep.vpc_id} {o} '{{\"Value\":true}}'"
                    for _, o in off
                ),
            )


# --- internet access -----------------------------------------------------------------------------


@check("NAT_GATEWAY_NO_IGW_ROUTE")
def nat_gateway_without_internet_route(model: Model) -> Iterator[Finding]:
    for nat in model.nat_gateways:
        if nat.connectivity_type != "public" or nat.state != "available":
            continue
        subnet = model.get(nat.subnet_id, Subnet)
        rt = model.route_table_for_subnet(subnet.id)
        ok, how = _internet_route(model, rt, subnet.vpc_id)
        if not ok:
            yield Finding(
                "NAT_GATEWAY_NO_IGW_ROUTE",
                Severity.error,
                nat.id,
                subnet.vpc_id,
                f"{nat.id} is in {subnet.id}, whose route table {rt.id} does not send 0.0.0.0/0 to an internet gateway ({how}): "
                "instances behind it cannot reach the internet",
                _default_route_fix(model, rt) + " (or create the NAT gateway in a public subnet)",
            )


@check("PUBLIC_SUBNET_NO_IGW_ROUTE")
def public_subnet_without_internet_route(model: Model) -> Iterator[Finding]:
    for subnet in model.subnets:
        if not subnet.map_public_ip_on_launch:
            continue
        rt = model.route_table_for_subnet(subnet.id)
        ok, how = _internet_route(model, rt, subnet.vpc_id)
        if not ok:
            yield Finding(
                "PUBLIC_SUBNET_NO_IGW_ROUTE",
                Severity.warning,
                subnet.id,
                subnet.vpc_id,
                f"{subnet.id} gives instances a public IPv4 address, but its route table {rt.id} does not send 0.0.0.0/0 "
                f"to an internet gateway ({how})",
                f"{_default_route_fix(model, rt)} (or aws ec2 modify-subnet-attribute --subnet-id {subnet.id} --no-map-public-ip-on-launch)",
            )


@check("INSTANCE_NO_PUBLIC_IP")
def instance_without_public_ip(model: Model) -> Iterator[Finding]:
    for eni in model.network_interfaces:
        inst = model.instance_of(eni)
        if inst is None or inst.state != "running" or eni.public_ip is not None:
            continue
        if eni.interface_type is not InterfaceType.interface:
            continue
        subnet = model.get(eni.subnet_id, Subnet)
        rt = model.route_table_for_subnet(subnet.id)
        ok, how = _internet_route(model, rt, subnet.vpc_id)
        if ok:
            yield Finding(
                "INSTANCE_NO_PUBLIC_IP",
                Severity.warning,
                inst.id,
                subnet.vpc_id,
                f"{inst.id} ({eni.id}, {eni.private_ip}) is in {subnet.id}, whose route table {rt.id} routes {how}, "
                "but it has no public IPv4 address: it cannot reach the internet over IPv4 nor be reached",
                f"aws ec2 allocate-address, then aws ec2 associate-address --network-interface-id {eni.id} --allocation-id <eipalloc-id> "
                "(or route 0.0.0.0/0 of its subnet through a NAT gateway)",
            )


# --- security groups -----------------------------------------------------------------------------


def _opened_admin_ports(rule: SecurityGroupRule) -> list[int]:
    if rule.cidr not in WORLD or rule.protocol not in (-1, 6, 17):
        return []
    if rule.protocol == -1:
        return sorted(ADMIN_PORTS)
    low = rule.from_port if rule.from_port is not None else 0
    high = rule.to_port if rule.to_port is not None else low
    return [p for p in sorted(ADMIN_PORTS) if low <= p <= high]


def _revoke(sg_id: str, rule: SecurityGroupRule) -> str:
    proto = {-1: "-1", 6: "tcp", 17: "udp"}[rule.protocol]
    ports = "" if rule.protocol == -1 else f",FromPort={rule.from_port},ToPort={rule.to_port}"
    assert rule.cidr is not None
    ranges = (
        f"IpRanges=[{{CidrIp={rule.cidr}}}]"
        if rule.cidr.version == 4
        else f"Ipv6Ranges=[{{CidrIpv6={rule.cidr}}}]"
    )
    return f"aws ec2 revoke-security-group-ingress --group-id {sg_id} --ip-permissions IpProtocol={proto}{ports},{ranges}"


@check("SG_OPEN_ADMIN_PORT")
def admin_port_open_to_the_world(model: Model) -> Iterator[Finding]:
    """One finding per group: the admin ports its rules open to 0.0.0.0/0 or ::/0."""
    for sg in model.security_groups:
        rules = [(r, _opened_admin_ports(r)) for r in sg.ingress]
        rules = [(r, ports) for r, ports in rules if ports]
        if not rules:
            continue
        ports = sorted({p for _, opened in rules for p in opened})
        members = [model.get(e, NetworkInterface) for e in sorted(model.security_group_members(sg.id))]
        exposed = [e.id for e in members if e.public_ip is not None]
        who = (
            f"; {_listing(exposed)} {'has' if len(exposed) == 1 else 'have'} a public address"
            if exposed
            else "; no interface with a public address uses it"
        )
        peers = " and ".join(sorted({str(r.cidr) for r, _ in rules}))
        opened = ", ".join(f"{p} ({ADMIN_PORTS[p]})" for p in ports)
        fixes = list(dict.fromkeys(_revoke(sg.id, r) for r, _ in rules))
        yield Finding(
            "SG_OPEN_ADMIN_PORT",
            Severity.error if exposed else Severity.warning,
            sg.id,
            sg.vpc_id,
            f"{sg.id} ({sg.group_name}) lets {peers} in on {opened}{who}",
            "; ".join(fixes) + "; then allow only your own range (or use Session Manager: no inbound port)",
        )


@check("UNUSED_SECURITY_GROUP")
def unused_security_group(model: Model) -> Iterator[Finding]:
    for sg in model.security_groups:
        if sg.group_name == "default" or model.security_group_members(sg.id):
            continue
        if any(sg.id in ep.security_group_ids for ep in model.vpc_endpoints):
            continue
        yield Finding(
            "UNUSED_SECURITY_GROUP",
            Severity.info,
            sg.id,
            sg.vpc_id,
            f"{sg.id} ({sg.group_name}) is attached to no network interface in the model",
            f"aws ec2 delete-security-group --group-id {sg.id} (after checking that no other service, such as Lambda or RDS, uses it)",
        )


# --- routes and NAT gateways ---------------------------------------------------------------------


@check("BLACKHOLE_ROUTE")
def blackhole_route(model: Model) -> Iterator[Finding]:
    for rt in model.route_tables:
        for route in rt.routes:
            if route.state != "blackhole":
                continue
            if route.destination_prefix_list_id:
                option = f"--destination-prefix-list-id {route.destination_prefix_list_id}"
            elif route.destination_cidr is not None and route.destination_cidr.version == 6:
                option = f"--destination-ipv6-cidr-block {route.destination_cidr}"
            else:
                option = f"--destination-cidr-block {route.destination_cidr}"
            yield Finding(
                "BLACKHOLE_ROUTE",
                Severity.warning,
                rt.id,
                rt.vpc_id,
                f"{rt.id}: {route.destination} -> {route.target} is a blackhole (its target is gone): matching traffic is dropped",
                f"aws ec2 delete-route --route-table-id {rt.id} {option} (or aws ec2 replace-route to a live target)",
            )


@check("NAT_GATEWAY_UNUSED")
def nat_gateway_unused(model: Model) -> Iterator[Finding]:
    targets = {
        route.target
        for rt in model.route_tables
        for route in model.routes_of(rt.id)
        if route.state == "active"
    }
    for nat in model.nat_gateways:
        if nat.state == "available" and nat.id not in targets:
            yield Finding(
                "NAT_GATEWAY_UNUSED",
                Severity.info,
                nat.id,
                _vpc_of_nat(model, nat),
                f"no route table sends traffic to {nat.id}; it is billed by the hour all the same",
                f"aws ec2 delete-nat-gateway --nat-gateway-id {nat.id}"
                + (
                    f", then aws ec2 release-address --allocation-id {nat.allocation_id}"
                    if nat.allocation_id
                    else ""
                ),
            )


def _vpc_of_nat(model: Model, nat: NatGateway) -> str | None:
    subnet = model.find(nat.subnet_id)
    return subnet.vpc_id if isinstance(subnet, Subnet) else None
