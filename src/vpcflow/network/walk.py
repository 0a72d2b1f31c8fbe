"""The packet walk behind `evaluate_flow`: forward hop by hop, then the response back.

Order (spec vpc.md §0): source SG egress -> source subnet NACL outbound (only when leaving the
subnet) -> route table -> target (IGW with 1:1 NAT, NAT gateway with SNAT and its own subnet's
route table, gateway endpoint, peering, appliance ENI) -> destination subnet NACL inbound ->
destination SG inbound. The response retraces the forward chain: security groups let it through
(tracked), every NACL on the way judges it as a new packet (ephemeral ports), and every interface
that answers across a subnet boundary needs a route back to the hop it came from (**Choice:** a
route to another target is reported as ASYMMETRIC_ROUTE and dropped: AWS does not support
asymmetric routing through appliances and NAT, and a reply via a different NAT changes address).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, ip_address

from vpcflow.network import filters
from vpcflow.network.model import (
    AwsService,
    InternetGateway,
    NetworkInterface,
    RouteTarget,
    Subnet,
    Vpc,
    VpcEndpoint,
)
from vpcflow.network.store import Model
from vpcflow.network.trace import Explanation, Hop, Packet, Step

Address = IPv4Address | IPv6Address
RFC1918 = (IPv4Network("10.0.0.0/8"), IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/16"))
RFC6598 = IPv4Network("100.64.0.0/10")
TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
MAX_HOPS = 16


@dataclass(frozen=True, slots=True)
class Pkt:
    src: Address
    dst: Address
    proto: int
    sport: int | None
    dport: int | None  # ICMP: the type

    def reply(self) -> Pkt:
        if self.proto in (ICMP, ICMPV6):
            echo_reply = {8: 0, 128: 129}.get(self.dport or -1, self.dport)
            return Pkt(self.dst, self.src, self.proto, None, echo_reply)
        return Pkt(self.dst, self.src, self.proto, self.dport, self.sport)

    def header(self) -> Packet:
        return Packet(
            src=str(self.src),
            dst=str(self.dst),
            protocol=self.proto,
            src_port=self.sport,
            dst_port=self.dport,
        )


@dataclass
class Node:
    kind: str  # source-eni, destination-eni, endpoint-eni, nat, appliance, igw, eigw, gateway-endpoint, pcx, service, internet, internet-source
    name: str
    eni: NetworkInterface | None = None
    resource: object = None
    pkt_in: Pkt | None = None
    pkt_out: Pkt | None = None
    entered_from_outside: bool = False  # forward packet crossed a subnet boundary to get here
    left_to_outside: bool = False  # forward packet crossed a subnet boundary when leaving


class Stop(Exception):
    """The walk ends here (blocked, or outside what the model describes)."""

    def __init__(self, code: str, component: str, detail: str, fix: str = "", *, unknown: bool = False):
        self.explanation = (code, component, detail, fix)
        self.unknown = unknown


@dataclass
class Walk:
    model: Model
    direction: str = "forward"
    chain: list[Node] = field(default_factory=list)
    hops: list[Hop] = field(default_factory=list)
    observations: list = field(default_factory=list)
    explanations: list[Explanation] = field(default_factory=list)
    service: AwsService | None = None
    service_endpoint: VpcEndpoint | None = None
    notes: list[str] = field(default_factory=list)
    middlebox: bool = False  # an appliance forwarded the packet: SG references no longer match

    # --- recording ------------------------------------------------------------------------------

    def hop(self, node: str, kind: str, pkt: Pkt, steps: list[Step]) -> None:
        if kind == "network-interface":
            eni = self.model.find(node)
            if isinstance(eni, NetworkInterface) and eni.interface_type.value != "interface":
                kind = f"network-interface ({eni.interface_type.value})"
        kind = {
            "service": "aws-service",
            "igw": "internet-gateway",
            "pcx": "peering-connection",
            "eigw": "egress-only-internet-gateway",
        }.get(kind, kind)
        self.hops.append(
            Hop(node=node, kind=kind, direction=self.direction, packet=pkt.header(), steps=tuple(steps))
        )

    def stop(self, code: str, component: str, detail: str, fix: str = "", *, unknown: bool = False) -> Stop:
        return Stop(code, component, detail, fix, unknown=unknown)

    def observe(
        self,
        eni: NetworkInterface,
        flow_dir: str,
        pkt: Pkt,
        accepted: bool,
        rules: tuple[str, ...],
        *,
        path: int | None = None,
        intermediate: bool = False,
    ) -> None:
        from vpcflow.network.flows import EniObservation

        m = self.model
        subnet = m.subnet_of(eni)
        vpc = m.vpc_of(subnet)
        own = (
            eni.private_ip
            if pkt.src.version == 4
            else (eni.ipv6_addresses[0] if eni.ipv6_addresses else pkt.src)
        )
        src, dst = pkt.src, pkt.dst
        if flow_dir == "egress" and (intermediate or pkt.src.version == 4):
            src = own if (intermediate or pkt.src in eni.addresses) else src
        if flow_dir == "ingress" and (intermediate or pkt.dst.version == 4):
            dst = own if (intermediate or pkt.dst in eni.addresses) else dst
        s_svc, d_svc = m.service_for_ip(pkt.src), m.service_for_ip(pkt.dst)
        inst = m.instance_of(eni)
        is_icmp = pkt.proto in (ICMP, ICMPV6)
        self.observations.append(
            EniObservation(
                interface_id=eni.id,
                account_id=vpc.account_id,
                vpc_id=vpc.id,
                subnet_id=subnet.id,
                instance_id=inst.id if inst and not eni.requester_managed else None,
                region=vpc.region,
                az_id=subnet.availability_zone_id,
                interface_type=eni.interface_type.value,
                leg="request" if self.direction == "forward" else "response",
                flow_direction=flow_dir,  # type: ignore[arg-type]
                action="ACCEPT" if accepted else "REJECT",
                decided_by=rules,
                srcaddr=str(src),
                dstaddr=str(dst),
                pkt_srcaddr=str(pkt.src),
                pkt_dstaddr=str(pkt.dst),
                srcport=0 if is_icmp or pkt.sport is None else pkt.sport,
                dstport=0 if is_icmp or pkt.dport is None else pkt.dport,
                protocol=pkt.proto,
                traffic_path=path if flow_dir == "egress" else None,
                pkt_src_aws_service=s_svc.flow_log_code if s_svc else None,
                pkt_dst_aws_service=d_svc.flow_log_code if d_svc else None,
                type="IPv4" if pkt.src.version == 4 else "IPv6",
                requester_managed=eni.requester_managed,
            )
        )

    # --- filters --------------------------------------------------------------------------------

    def peer_groups(self, addr: Address, vpc: Vpc) -> frozenset[str]:
        """SGs of the ENI behind a private address in this VPC or a peered one (group rules match)."""
        if self.middlebox:
            return frozenset()  # spec vpc.md §5.1: through a middlebox, SG references do not match
        for eni in self.model.interfaces_with_ip(addr):
            other = self.model.vpc_of(eni)
            if other.id == vpc.id or (other.region == vpc.region and self._peered(vpc.id, other.id)):
                return frozenset(eni.security_group_ids)
        return frozenset()

    def _peered(self, a: str, b: str) -> bool:
        return any(
            {p.requester_vpc_id, p.accepter_vpc_id} == {a, b} and p.status == "active"
            for p in self.model.peering_connections
        )

    def sg(
        self, eni: NetworkInterface, direction: str, peer: Address, pkt: Pkt, steps: list[Step]
    ) -> filters.FilterVerdict:
        vpc = self.model.vpc_of(eni)
        icmp_code = 0 if pkt.proto in (ICMP, ICMPV6) else None
        v = filters.security_groups(
            self.model,
            eni.security_group_ids,
            direction,
            peer,
            pkt.proto,
            pkt.dport,
            icmp_code=icmp_code,
            peer_groups=self.peer_groups(peer, vpc),
        )
        steps.append(
            Step(
                component=v.component,
                kind="security-group",
                action="ALLOW" if v.allowed else "DENY",
                detail=v.rule,
            )
        )
        return v

    def nacl(self, subnet: Subnet, direction: str, pkt: Pkt, steps: list[Step]) -> filters.FilterVerdict:
        acl = self.model.network_acl_for_subnet(subnet.id)
        peer = pkt.src if direction == "inbound" else pkt.dst
        icmp_code = 0 if pkt.proto in (ICMP, ICMPV6) else None
        v = filters.network_acl(self.model, acl, direction, peer, pkt.proto, pkt.dport, icmp_code=icmp_code)
        steps.append(
            Step(
                component=v.component,
                kind="network-acl",
                action="ALLOW" if v.allowed else "DENY",
                detail=v.rule,
            )
        )
        return v

    def sg_stop(self, v: filters.FilterVerdict, eni: NetworkInterface, pkt: Pkt) -> Stop:
        what = "outbound" if v.direction == "egress" else "inbound"
        peer = pkt.dst if v.direction == "egress" else pkt.src
        return self.stop(
            "ENI_SG_RULES_MISMATCH",
            v.component,
            f"{eni.id}: {v.rule} ({pkt.header()})",
            f"add an {what} rule to a security group of {eni.id} allowing {filters.describe_ports(pkt.proto, pkt.dport, pkt.dport)} {'to' if v.direction == 'egress' else 'from'} {peer}",
        )

    def nacl_stop(self, v: filters.FilterVerdict, subnet: Subnet, pkt: Pkt) -> Stop:
        peer = pkt.dst if v.direction == "outbound" else pkt.src
        return self.stop(
            "SUBNET_ACL_RESTRICTION",
            v.component,
            f"{subnet.id}: {v.rule} ({pkt.header()})",
            f"add a lower-numbered {v.direction} allow rule to {v.component} for {filters.describe_ports(pkt.proto, pkt.dport, pkt.dport)} {'to' if v.direction == 'outbound' else 'from'} {peer}",
        )

    # --- helpers --------------------------------------------------------------------------------

    def traffic_path(self, eni: NetworkInterface, target: RouteTarget | str) -> int | None:
        inst = self.model.instance_of(eni)
        nitro = bool(inst and inst.nitro and not eni.requester_managed)
        if target in (RouteTarget.internet_gateway, RouteTarget.egress_only_internet_gateway):
            return 8 if nitro else 2
        if target == "gateway-endpoint":
            return 7 if nitro else 2
        if target == RouteTarget.virtual_private_gateway:
            return 3
        if target == RouteTarget.peering_connection:
            return 4
        return 1

    @staticmethod
    def nat_port(pkt: Pkt) -> int | None:
        # **Choice:** NAT gateways remap source ports into 1024-65535 (RA REMAP_EPHEMERAL_PORT); a stable hash of the flow.
        if pkt.sport is None:
            return None
        return 1024 + zlib.crc32(f"{pkt.src}:{pkt.sport}:{pkt.dst}:{pkt.dport}:{pkt.proto}".encode()) % 64512

    @staticmethod
    def in_vpc(addr: Address, vpc: Vpc) -> bool:
        blocks = vpc.cidr_blocks if addr.version == 4 else vpc.ipv6_cidr_blocks
        return any(addr in b for b in blocks)

    def igw_of(self, vpc: Vpc) -> InternetGateway | None:
        return next((g for g in self.model.internet_gateways if g.vpc_id == vpc.id), None)


def as_address(value: str | Address) -> Address:
    return value if isinstance(value, IPv4Address | IPv6Address) else ip_address(value)


def is_private_v4(addr: Address) -> bool:
    return addr.version == 4 and any(addr in n for n in RFC1918)
