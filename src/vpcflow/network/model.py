"""The VPC model: one frozen, typed pydantic class per AWS resource, ids as AWS writes them.

Every resource is immutable; a changed network is a new model (`Model.replace(...)`). Field names
follow the AWS API in snake_case (`cidr_block`, `map_public_ip_on_launch`, `private_dns_enabled`),
so that the loaders for `aws ec2 describe-*` output stay a plain mapping. The YAML format that
writes these classes is documented in docs/model.md; the container with lookups is `Model` in
`vpcflow.network.store`.
"""

from __future__ import annotations

import enum
import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator


def _id(prefix: str) -> Any:
    # AWS writes hex ids (vpc-0a1b2c3d4e5f67890); hand-written models may use readable ones (vpc-lab).
    return Annotated[str, StringConstraints(pattern=rf"^{prefix}-[0-9a-z][0-9a-z-]*$")]


VpcId = _id("vpc")
SubnetId = _id("subnet")
RouteTableId = _id("rtb")
InternetGatewayId = _id("igw")
EgressOnlyInternetGatewayId = _id("eigw")
NatGatewayId = _id("nat")
VpcEndpointId = _id("vpce")
SecurityGroupId = _id("sg")
NetworkAclId = _id("acl")
NetworkInterfaceId = _id("eni")
InstanceId = _id("i")
PrefixListId = _id("pl")
PeeringConnectionId = _id("pcx")
TransitGatewayId = _id("tgw")

IPv4Cidr = IPv4Network
AnyCidr = IPv4Network | IPv6Network
AnyAddress = IPv4Address | IPv6Address

# IANA numbers; -1 is AWS's "all protocols".
PROTOCOL_NUMBERS = {"all": -1, "-1": -1, "icmp": 1, "tcp": 6, "udp": 17, "icmpv6": 58, "icmp6": 58}
PROTOCOL_NAMES = {-1: "all", 1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}
ALL_PORTS = (0, 65535)


def protocol_number(value: object) -> int:
    """'tcp' / 6 / '6' / 'all' / '-1' -> IANA number (-1 = all)."""
    if isinstance(value, bool):
        raise ValueError(f"protocol {value!r} is not a protocol name or number")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip().lower()
        if text in PROTOCOL_NUMBERS:
            return PROTOCOL_NUMBERS[text]
        if not re.fullmatch(r"-?\d+", text):
            raise ValueError(f"protocol {value!r} is not tcp, udp, icmp, icmpv6, all or a number 0-255")
        number = int(text)
    if number != -1 and not 0 <= number <= 255:
        raise ValueError(f"protocol {number} is outside 0-255 (use -1 or 'all' for every protocol)")
    return number


def _port_range(data: Any) -> Any:
    """Accept `port: 443` or `ports: "1024-65535"` as well as from_port/to_port."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    spec = data.pop("port", None)
    if spec is None:
        spec = data.pop("ports", None)
    if spec is not None:
        if isinstance(spec, int):
            data["from_port"] = data["to_port"] = spec
        else:
            text = str(spec)
            low, _, high = text.partition("-")
            if not low.isdigit() or (high and not high.isdigit()):
                raise ValueError(f"ports {spec!r} is not a port or a range like 1024-65535")
            data["from_port"], data["to_port"] = int(low), int(high or low)
    return data


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Tagged(Frozen):
    name: str | None = None  # the Name tag


# --- VPC, subnets -------------------------------------------------------------------------------


class Vpc(Tagged):
    id: VpcId
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    account_id: str = Field(default="123456789012", pattern=r"^\d{12}$")
    cidr_blocks: tuple[IPv4Network, ...] = Field(min_length=1)
    ipv6_cidr_blocks: tuple[IPv6Network, ...] = ()
    enable_dns_support: bool = True  # AWS default
    enable_dns_hostnames: bool = False  # AWS default for a nondefault VPC
    is_default: bool = False

    @property
    def dns_resolver_ip(self) -> IPv4Address:
        """The Route 53 Resolver at the base of the primary CIDR plus two (vpc.md §4)."""
        return self.cidr_blocks[0].network_address + 2


class Subnet(Tagged):
    id: SubnetId
    vpc_id: VpcId
    cidr_block: IPv4Network
    ipv6_cidr_block: IPv6Network | None = None
    availability_zone: str
    availability_zone_id: str | None = None  # e.g. euw1-az1; flow log field az-id
    map_public_ip_on_launch: bool = False


# --- Routing ------------------------------------------------------------------------------------


class RouteTarget(enum.StrEnum):
    local = "local"
    internet_gateway = "internet-gateway"
    egress_only_internet_gateway = "egress-only-internet-gateway"
    nat_gateway = "nat-gateway"
    vpc_endpoint = "vpc-endpoint"
    network_interface = "network-interface"
    instance = "instance"
    peering_connection = "peering-connection"
    transit_gateway = "transit-gateway"
    virtual_private_gateway = "virtual-private-gateway"


_TARGET_PREFIXES = {
    "igw": RouteTarget.internet_gateway,
    "eigw": RouteTarget.egress_only_internet_gateway,
    "nat": RouteTarget.nat_gateway,
    "vpce": RouteTarget.vpc_endpoint,
    "eni": RouteTarget.network_interface,
    "i": RouteTarget.instance,
    "pcx": RouteTarget.peering_connection,
    "tgw": RouteTarget.transit_gateway,
    "vgw": RouteTarget.virtual_private_gateway,
}


def target_kind(target: str) -> RouteTarget:
    if target == "local":
        return RouteTarget.local
    kind = _TARGET_PREFIXES.get(target.split("-", 1)[0])
    if kind is None:
        raise ValueError(
            f"route target {target!r} is not local or an id starting igw-, eigw-, nat-, vpce-, eni-, i-, pcx-, tgw-, vgw-"
        )
    return kind


class RouteOrigin(enum.StrEnum):
    """AWS's Route.Origin; decides static > propagated on equal prefixes (vpc.md §1.2)."""

    create_route_table = "CreateRouteTable"  # local routes, gateway endpoint routes
    create_route = "CreateRoute"
    propagated = "EnableVgwRoutePropagation"


class Route(Frozen):
    """One route: a CIDR or a prefix list to a target. `state: blackhole` drops matching traffic."""

    destination_cidr: AnyCidr | None = None
    destination_prefix_list_id: PrefixListId | None = None
    target: str
    state: Literal["active", "blackhole"] = "active"
    origin: RouteOrigin = RouteOrigin.create_route

    @model_validator(mode="before")
    @classmethod
    def _destination(cls, data: Any) -> Any:
        # YAML writes `destination: 0.0.0.0/0` or `destination: pl-6da54004`.
        if isinstance(data, dict) and "destination" in data:
            data = dict(data)
            dest = str(data.pop("destination"))
            key = "destination_prefix_list_id" if dest.startswith("pl-") else "destination_cidr"
            data[key] = dest
        if isinstance(data, dict) and data.get("target") == "blackhole":
            raise ValueError(
                "blackhole is a route state, not a target: write `state: blackhole` and keep the target id"
            )
        return data

    @model_validator(mode="after")
    def _one_destination(self) -> Route:
        if (self.destination_cidr is None) == (self.destination_prefix_list_id is None):
            raise ValueError("a route needs exactly one of destination_cidr or destination_prefix_list_id")
        target_kind(self.target)
        return self

    @property
    def target_kind(self) -> RouteTarget:
        return target_kind(self.target)

    @property
    def destination(self) -> str:
        return self.destination_prefix_list_id or str(self.destination_cidr)


class RouteTable(Tagged):
    id: RouteTableId
    vpc_id: VpcId
    main: bool = False
    subnet_ids: tuple[SubnetId, ...] = ()  # explicit associations
    gateway_ids: tuple[str, ...] = ()  # edge associations (igw-/vgw-), kept for doctor and loaders
    routes: tuple[Route, ...] = ()  # local routes and gateway endpoint routes are added if missing


class InternetGateway(Tagged):
    id: InternetGatewayId
    vpc_id: VpcId | None = None  # None = detached


class EgressOnlyInternetGateway(Tagged):
    id: EgressOnlyInternetGatewayId
    vpc_id: VpcId


class NatGateway(Tagged):
    id: NatGatewayId
    subnet_id: SubnetId
    connectivity_type: Literal["public", "private"] = "public"
    network_interface_id: NetworkInterfaceId
    private_ip: IPv4Address
    public_ip: IPv4Address | None = None  # the Elastic IP of a public NAT gateway
    allocation_id: str | None = None
    state: Literal["pending", "available", "failed", "deleting", "deleted"] = "available"

    @model_validator(mode="after")
    def _eip(self) -> NatGateway:
        if self.connectivity_type == "private" and self.public_ip is not None:
            raise ValueError("a private NAT gateway cannot have an Elastic IP (public_ip)")
        return self


class PeeringConnection(Tagged):
    id: PeeringConnectionId
    requester_vpc_id: VpcId
    accepter_vpc_id: VpcId
    status: Literal["active", "pending-acceptance", "deleted", "rejected", "failed"] = "active"


class TransitGateway(Tagged):
    """Modelled as a route target only; its own route tables are out of scope (UNKNOWN outcome)."""

    id: TransitGatewayId
    vpc_ids: tuple[VpcId, ...] = ()


# --- Endpoints ----------------------------------------------------------------------------------


class VpcEndpoint(Tagged):
    id: VpcEndpointId
    vpc_id: VpcId
    vpc_endpoint_type: Literal["Gateway", "Interface", "GatewayLoadBalancer"]
    service_name: str = Field(pattern=r"^com\.amazonaws\.[a-z0-9.-]+$")  # com.amazonaws.eu-west-1.s3
    state: Literal[
        "available", "pending", "pendingAcceptance", "rejected", "failed", "deleted", "deleting", "expired"
    ] = "available"
    policy: dict[str, Any] | None = None  # None = AWS's default full-access policy
    route_table_ids: tuple[RouteTableId, ...] = ()  # gateway endpoints
    subnet_ids: tuple[SubnetId, ...] = ()  # interface endpoints
    network_interface_ids: tuple[NetworkInterfaceId, ...] = ()
    security_group_ids: tuple[SecurityGroupId, ...] = ()
    private_dns_enabled: bool = False
    # S3 interface endpoints next to a gateway endpoint: private DNS only for on-premises resolvers.
    private_dns_only_for_inbound_resolver_endpoint: bool = False

    @property
    def service_region(self) -> str | None:
        parts = self.service_name.split(".")
        return parts[2] if len(parts) >= 4 and parts[2] != "vpce" else None

    @property
    def service(self) -> str:
        """Short service name: 's3', 'dynamodb', 'sqs', 'ecr.api'."""
        return ".".join(self.service_name.split(".")[3:])


# --- Filters ------------------------------------------------------------------------------------


class SecurityGroupRule(Frozen):
    """One allow rule: protocol, ports (ICMP: type in from_port, code in to_port, -1 = any), one peer."""

    protocol: int = -1
    from_port: int | None = None
    to_port: int | None = None
    cidr: AnyCidr | None = None
    prefix_list_id: PrefixListId | None = None
    group_id: SecurityGroupId | None = None
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        data = _port_range(data)
        if isinstance(data, dict) and "peer" in data:
            data = dict(data)
            peer = str(data.pop("peer"))
            key = (
                "prefix_list_id"
                if peer.startswith("pl-")
                else "group_id"
                if peer.startswith("sg-")
                else "cidr"
            )
            data[key] = peer
        return data

    _protocol = field_validator("protocol", mode="before")(lambda v: protocol_number(v))

    @model_validator(mode="after")
    def _one_peer(self) -> SecurityGroupRule:
        peers = [p for p in (self.cidr, self.prefix_list_id, self.group_id) if p is not None]
        if len(peers) != 1:
            raise ValueError("a security group rule needs exactly one of cidr, prefix_list_id or group_id")
        return self

    @property
    def peer(self) -> str:
        return str(self.cidr) if self.cidr is not None else (self.prefix_list_id or self.group_id or "")


class SecurityGroup(Tagged):
    id: SecurityGroupId
    vpc_id: VpcId
    group_name: str = ""
    ingress: tuple[SecurityGroupRule, ...] = ()
    egress: tuple[SecurityGroupRule, ...] = ()


class NaclRule(Frozen):
    rule_number: int = Field(ge=1, le=32766)
    protocol: int = -1
    action: Literal["allow", "deny"]
    cidr: AnyCidr
    from_port: int | None = None
    to_port: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _port_range(data)

    _protocol = field_validator("protocol", mode="before")(lambda v: protocol_number(v))
    _action = field_validator("action", mode="before")(lambda v: str(v).lower())


class NetworkAcl(Tagged):
    id: NetworkAclId
    vpc_id: VpcId
    is_default: bool = False
    subnet_ids: tuple[SubnetId, ...] = ()
    inbound: tuple[NaclRule, ...] = ()  # the final `*` deny rules are implicit
    outbound: tuple[NaclRule, ...] = ()


# --- Interfaces and instances -------------------------------------------------------------------


class InterfaceType(enum.StrEnum):
    """DescribeNetworkInterfaces InterfaceType values (the ones a flow can cross)."""

    interface = "interface"
    nat_gateway = "nat_gateway"
    vpc_endpoint = "vpc_endpoint"
    gateway_load_balancer_endpoint = "gateway_load_balancer_endpoint"
    transit_gateway = "transit_gateway"
    network_load_balancer = "network_load_balancer"
    load_balancer = "load_balancer"
    lambda_ = "lambda"
    efa = "efa"
    trunk = "trunk"
    other = "other"

    @classmethod
    def _missing_(cls, value: object) -> InterfaceType:
        aliases = {"natgateway": cls.nat_gateway, "vpc-endpoint": cls.vpc_endpoint}
        return aliases.get(str(value).lower().replace("_", ""), aliases.get(str(value).lower(), cls.other))


class NetworkInterface(Tagged):
    id: NetworkInterfaceId
    subnet_id: SubnetId
    private_ip: IPv4Address  # the primary private IPv4 address
    secondary_private_ips: tuple[IPv4Address, ...] = ()
    ipv6_addresses: tuple[IPv6Address, ...] = ()
    public_ip: IPv4Address | None = None  # auto-assigned public IPv4 or Elastic IP
    elastic_ip_allocation_id: str | None = None  # set when public_ip is an Elastic IP
    security_group_ids: tuple[SecurityGroupId, ...] = ()
    interface_type: InterfaceType = InterfaceType.interface
    instance_id: InstanceId | None = None
    source_dest_check: bool = True
    requester_managed: bool = False
    description: str | None = None

    @property
    def addresses(self) -> tuple[AnyAddress, ...]:
        return (self.private_ip, *self.secondary_private_ips, *self.ipv6_addresses)


class Instance(Tagged):
    id: InstanceId
    network_interface_ids: tuple[NetworkInterfaceId, ...] = Field(min_length=1)  # primary (device 0) first
    state: Literal["pending", "running", "stopping", "stopped", "shutting-down", "terminated"] = "running"
    iam_instance_profile_arn: str | None = None
    identity_policies: tuple[dict[str, Any], ...] = ()  # the policies of the profile's role
    nitro: bool = True  # flow logs traffic-path 7/8 are written for Nitro instances only


# --- AWS side -----------------------------------------------------------------------------------


class ManagedPrefixList(Tagged):
    id: PrefixListId
    prefix_list_name: str  # com.amazonaws.eu-west-1.s3
    region: str
    cidrs: tuple[AnyCidr, ...] = ()
    owner_id: str = "AWS"


class AwsService(Frozen):
    """An AWS service in one Region as a flow sees it: names it answers to and its public ranges."""

    service: str  # s3, dynamodb, sqs, ecr.api ...
    region: str
    public_cidrs: tuple[AnyCidr, ...] = Field(min_length=1)
    hostnames: tuple[str, ...] = ()  # besides <service>.<region>.amazonaws.com
    flow_log_code: str = "AMAZON"  # pkt-dst-aws-service value: S3, DYNAMODB, EC2, AMAZON ...
    prefix_list_id: PrefixListId | None = None  # gateway-endpoint services (s3, dynamodb)

    @property
    def endpoint_service_name(self) -> str:
        return f"com.amazonaws.{self.region}.{self.service}"

    @property
    def regional_hostname(self) -> str:
        return f"{self.service}.{self.region}.amazonaws.com"


GATEWAY_ENDPOINT_SERVICES = frozenset({"s3", "dynamodb"})

RESOURCE_KINDS: dict[str, type[Frozen]] = {
    "vpcs": Vpc,
    "subnets": Subnet,
    "route_tables": RouteTable,
    "internet_gateways": InternetGateway,
    "egress_only_internet_gateways": EgressOnlyInternetGateway,
    "nat_gateways": NatGateway,
    "vpc_endpoints": VpcEndpoint,
    "security_groups": SecurityGroup,
    "network_acls": NetworkAcl,
    "network_interfaces": NetworkInterface,
    "instances": Instance,
    "prefix_lists": ManagedPrefixList,
    "peering_connections": PeeringConnection,
    "transit_gateways": TransitGateway,
}
"""Model field name -> resource class, in the order a loader should build them."""
