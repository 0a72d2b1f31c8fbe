"""`Model`: every resource of one or more VPCs, with lookups by id and by address.

A `Model` is frozen; the indexes below are built once, on first use, and shared by every query
(the reachability engine leans on them for its per-query budget of a few milliseconds).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, TypeVar

from vpcflow.errors import ModelError
from vpcflow.network.model import (
    AwsService,
    EgressOnlyInternetGateway,
    Frozen,
    Instance,
    InternetGateway,
    ManagedPrefixList,
    NatGateway,
    NetworkAcl,
    NetworkInterface,
    PeeringConnection,
    Route,
    RouteOrigin,
    RouteTable,
    SecurityGroup,
    Subnet,
    TransitGateway,
    Vpc,
    VpcEndpoint,
)

R = TypeVar("R", bound=Frozen)
Address = IPv4Address | IPv6Address


@dataclass
class _Indexes:
    by_id: dict[str, Frozen] = field(default_factory=dict)
    eni_by_private_ip: dict[Address, list[NetworkInterface]] = field(
        default_factory=lambda: defaultdict(list)
    )
    eni_by_public_ip: dict[IPv4Address, NetworkInterface] = field(default_factory=dict)
    route_table_of_subnet: dict[str, RouteTable] = field(default_factory=dict)
    nacl_of_subnet: dict[str, NetworkAcl] = field(default_factory=dict)
    routes: dict[str, tuple[Route, ...]] = field(default_factory=dict)
    sg_members: dict[str, frozenset[str]] = field(default_factory=dict)
    enis_of_instance: dict[str, tuple[NetworkInterface, ...]] = field(default_factory=dict)
    nat_of_eni: dict[str, NatGateway] = field(default_factory=dict)
    endpoint_of_eni: dict[str, VpcEndpoint] = field(default_factory=dict)
    service_by_key: dict[tuple[str, str], AwsService] = field(default_factory=dict)
    prefix_list_by_name: dict[str, ManagedPrefixList] = field(default_factory=dict)


class Model(Frozen):
    """All resources of the modelled VPCs plus the AWS side (prefix lists, services)."""

    vpcs: tuple[Vpc, ...] = ()
    subnets: tuple[Subnet, ...] = ()
    route_tables: tuple[RouteTable, ...] = ()
    internet_gateways: tuple[InternetGateway, ...] = ()
    egress_only_internet_gateways: tuple[EgressOnlyInternetGateway, ...] = ()
    nat_gateways: tuple[NatGateway, ...] = ()
    vpc_endpoints: tuple[VpcEndpoint, ...] = ()
    security_groups: tuple[SecurityGroup, ...] = ()
    network_acls: tuple[NetworkAcl, ...] = ()
    network_interfaces: tuple[NetworkInterface, ...] = ()
    instances: tuple[Instance, ...] = ()
    prefix_lists: tuple[ManagedPrefixList, ...] = ()
    services: tuple[AwsService, ...] = ()
    peering_connections: tuple[PeeringConnection, ...] = ()
    transit_gateways: tuple[TransitGateway, ...] = ()
    source: str | None = None  # where it was loaded from, for error messages

    # --- construction ---------------------------------------------------------------------------

    def with_aws_defaults(self) -> Model:
        """Add the built-in prefix lists and services the model does not define itself."""
        from vpcflow.network.aws_catalog import builtin_prefix_lists, builtin_services

        have_pl = {p.id for p in self.prefix_lists} | {p.prefix_list_name for p in self.prefix_lists}
        have_svc = {(s.service, s.region) for s in self.services}
        pls = self.prefix_lists + tuple(
            p for p in builtin_prefix_lists() if p.id not in have_pl and p.prefix_list_name not in have_pl
        )
        svcs = self.services + tuple(s for s in builtin_services() if (s.service, s.region) not in have_svc)
        return self.model_copy(update={"prefix_lists": pls, "services": svcs})

    def replace(self, **changes: Any) -> Model:
        """A new, checked model with some resource lists replaced (`model.replace(route_tables=...)`)."""
        from vpcflow.network.validate import check_model

        return check_model(
            Model.model_validate({**self.model_dump(mode="python", exclude_unset=False), **changes})
        )

    @cached_property
    def cache(self) -> dict[Any, Any]:
        """Memo for structures derived by the engine (route indexes, filter verdicts); never dumped."""
        return {}

    # --- indexes --------------------------------------------------------------------------------

    @cached_property
    def indexes(self) -> _Indexes:
        ix = _Indexes()
        for kind in _RESOURCE_FIELDS:
            for resource in getattr(self, kind):
                ix.by_id[resource.id] = resource
        for eni in self.network_interfaces:
            for addr in eni.addresses:
                ix.eni_by_private_ip[addr].append(eni)
            if eni.public_ip is not None:
                ix.eni_by_public_ip[eni.public_ip] = eni
        main_rtb = {rt.vpc_id: rt for rt in self.route_tables if rt.main}
        for rt in self.route_tables:
            for sid in rt.subnet_ids:
                ix.route_table_of_subnet[sid] = rt
        default_acl = {acl.vpc_id: acl for acl in self.network_acls if acl.is_default}
        for acl in self.network_acls:
            for sid in acl.subnet_ids:
                ix.nacl_of_subnet[sid] = acl
        for subnet in self.subnets:
            if subnet.id not in ix.route_table_of_subnet and subnet.vpc_id in main_rtb:
                ix.route_table_of_subnet[subnet.id] = main_rtb[subnet.vpc_id]
            if subnet.id not in ix.nacl_of_subnet and subnet.vpc_id in default_acl:
                ix.nacl_of_subnet[subnet.id] = default_acl[subnet.vpc_id]
        for pl in self.prefix_lists:
            ix.prefix_list_by_name[pl.prefix_list_name] = pl
        for svc in self.services:
            ix.service_by_key[(svc.service, svc.region)] = svc
        ix.routes = {rt.id: self._effective_routes(rt, ix) for rt in self.route_tables}
        members: dict[str, set[str]] = defaultdict(set)
        for eni in self.network_interfaces:
            for sg in eni.security_group_ids:
                members[sg].add(eni.id)
        ix.sg_members = {sg: frozenset(m) for sg, m in members.items()}
        for inst in self.instances:
            ix.enis_of_instance[inst.id] = tuple(
                ix.by_id[e]
                for e in inst.network_interface_ids
                if isinstance(ix.by_id.get(e), NetworkInterface)
            )
        for nat in self.nat_gateways:
            ix.nat_of_eni[nat.network_interface_id] = nat
        for ep in self.vpc_endpoints:
            for eni_id in ep.network_interface_ids:
                ix.endpoint_of_eni[eni_id] = ep
        return ix

    def _effective_routes(self, rt: RouteTable, ix: _Indexes) -> tuple[Route, ...]:
        """The table as AWS shows it: the local routes and gateway-endpoint routes AWS adds itself."""
        routes = list(rt.routes)
        vpc = ix.by_id.get(rt.vpc_id)
        have = {(r.destination, r.target) for r in routes}
        if isinstance(vpc, Vpc):
            for cidr in (*vpc.cidr_blocks, *vpc.ipv6_cidr_blocks):
                if not any(r.destination_cidr == cidr and r.target == "local" for r in routes):
                    routes.insert(
                        0, Route(destination_cidr=cidr, target="local", origin=RouteOrigin.create_route_table)
                    )
        for ep in self.vpc_endpoints:
            if ep.vpc_endpoint_type != "Gateway" or rt.id not in ep.route_table_ids:
                continue
            pl = ix.prefix_list_by_name.get(ep.service_name)
            if pl is not None and (pl.id, ep.id) not in have:
                routes.append(
                    Route(
                        destination_prefix_list_id=pl.id, target=ep.id, origin=RouteOrigin.create_route_table
                    )
                )
        return tuple(routes)

    # --- lookups --------------------------------------------------------------------------------

    def find(self, resource_id: str) -> Frozen | None:
        return self.indexes.by_id.get(resource_id)

    def get(self, resource_id: str, kind: type[R] | None = None) -> R:
        """The resource with this id; ModelError naming the id when absent (or of another kind)."""
        resource = self.indexes.by_id.get(resource_id)
        if resource is None or (kind is not None and not isinstance(resource, kind)):
            what = kind.__name__ if kind else "resource"
            raise ModelError(f"{self.source or '<model>'}: no {what} with id {resource_id!r} in the model")
        return resource  # type: ignore[return-value]

    def vpc_of(self, resource: Subnet | NetworkInterface) -> Vpc:
        subnet = resource if isinstance(resource, Subnet) else self.get(resource.subnet_id, Subnet)
        return self.get(subnet.vpc_id, Vpc)

    def subnet_of(self, eni: NetworkInterface) -> Subnet:
        return self.get(eni.subnet_id, Subnet)

    def interfaces_with_ip(self, ip: str | Address) -> tuple[NetworkInterface, ...]:
        """ENIs holding this private address (several only when VPCs overlap)."""
        return tuple(self.indexes.eni_by_private_ip.get(ip_address(ip), ()))

    def interface_for_ip(self, ip: str | Address, vpc_id: str | None = None) -> NetworkInterface | None:
        for eni in self.interfaces_with_ip(ip):
            if vpc_id is None or self.vpc_of(eni).id == vpc_id:
                return eni
        return None

    def interface_for_public_ip(self, ip: str | Address) -> NetworkInterface | None:
        addr = ip_address(ip)
        return self.indexes.eni_by_public_ip.get(addr) if isinstance(addr, IPv4Address) else None

    def interfaces_of_instance(self, instance_id: str) -> tuple[NetworkInterface, ...]:
        return self.indexes.enis_of_instance.get(instance_id, ())

    def instance_of(self, eni: NetworkInterface) -> Instance | None:
        inst = self.indexes.by_id.get(eni.instance_id or "")
        return inst if isinstance(inst, Instance) else None

    def route_table_for_subnet(self, subnet_id: str) -> RouteTable:
        rt = self.indexes.route_table_of_subnet.get(subnet_id)
        if rt is None:
            raise ModelError(
                f"{self.source or '<model>'}: subnet {subnet_id}: no route table (and no main route table)"
            )
        return rt

    def network_acl_for_subnet(self, subnet_id: str) -> NetworkAcl:
        acl = self.indexes.nacl_of_subnet.get(subnet_id)
        if acl is None:
            raise ModelError(
                f"{self.source or '<model>'}: subnet {subnet_id}: no network ACL (and no default ACL)"
            )
        return acl

    def routes_of(self, route_table_id: str) -> tuple[Route, ...]:
        return self.indexes.routes[route_table_id]

    def security_group_members(self, sg_id: str) -> frozenset[str]:
        return self.indexes.sg_members.get(sg_id, frozenset())

    def nat_gateway_of(self, eni: NetworkInterface) -> NatGateway | None:
        return self.indexes.nat_of_eni.get(eni.id)

    def endpoint_of(self, eni: NetworkInterface) -> VpcEndpoint | None:
        return self.indexes.endpoint_of_eni.get(eni.id)

    def prefix_list(self, id_or_name: str) -> ManagedPrefixList | None:
        pl = self.indexes.by_id.get(id_or_name)
        if isinstance(pl, ManagedPrefixList):
            return pl
        return self.indexes.prefix_list_by_name.get(id_or_name)

    def service(self, name: str, region: str) -> AwsService | None:
        return self.indexes.service_by_key.get((name, region))

    def service_for_ip(self, ip: str | Address) -> AwsService | None:
        """The AWS service (and Region) whose public ranges hold this address."""
        addr = ip_address(ip)
        best: tuple[int, AwsService] | None = None
        for svc in self.services:
            for cidr in svc.public_cidrs:
                if (
                    addr.version == cidr.version
                    and addr in cidr
                    and (best is None or cidr.prefixlen > best[0])
                ):
                    best = (cidr.prefixlen, svc)
        return best[1] if best else None

    def endpoints_in(self, vpc_id: str) -> tuple[VpcEndpoint, ...]:
        return tuple(ep for ep in self.vpc_endpoints if ep.vpc_id == vpc_id)


_RESOURCE_FIELDS = (
    "vpcs",
    "subnets",
    "route_tables",
    "internet_gateways",
    "egress_only_internet_gateways",
    "nat_gateways",
    "vpc_endpoints",
    "security_groups",
    "network_acls",
    "network_interfaces",
    "instances",
    "prefix_lists",
    "peering_connections",
    "transit_gateways",
)
