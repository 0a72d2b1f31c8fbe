"""The validation pass: a model that AWS could not hold raises ModelError naming resource and field.

Checks: duplicate ids; dangling references (every `*_id` names a resource of the right kind);
subnets inside their VPC's CIDRs and not overlapping each other; ENI addresses inside their subnet;
one main route table and one default network ACL per VPC; a subnet in at most one route table and
one network ACL; NACL rule numbers unique per direction; routes to existing targets unless
blackholed; gateway endpoints only for S3 and DynamoDB. Bad CIDRs are caught when the resource is
built (see `vpcflow.network.loaders.common.build`).
"""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Network

from vpcflow.errors import ModelError
from vpcflow.network.model import (
    GATEWAY_ENDPOINT_SERVICES,
    EgressOnlyInternetGateway,
    Instance,
    InternetGateway,
    ManagedPrefixList,
    NatGateway,
    NetworkInterface,
    PeeringConnection,
    RouteTable,
    RouteTarget,
    SecurityGroup,
    Subnet,
    TransitGateway,
    Vpc,
    VpcEndpoint,
)
from vpcflow.network.store import Model


def model_error(model: Model | None, resource_id: str, field: str, message: str, fix: str = "") -> ModelError:
    where = (model.source if model is not None else None) or "<model>"
    text = f"{where}: {resource_id}: field {field!r}: {message}"
    if fix:
        text += f" ({fix})"
    err = ModelError(text)
    err.resource_id = resource_id  # type: ignore[attr-defined]
    err.field = field  # type: ignore[attr-defined]
    return err


def check_model(model: Model) -> Model:
    """Return the model unchanged, or raise ModelError at the first problem found."""
    _unique_ids(model)
    ix = model.indexes.by_id

    def need(owner: str, field: str, ref: str | None, kind: type | tuple[type, ...], what: str) -> None:
        if ref is None:
            return
        if not isinstance(ix.get(ref), kind):
            raise model_error(
                model,
                owner,
                field,
                f"{what} {ref!r} does not exist in the model",
                f"add {what} {ref} or fix the id",
            )

    for subnet in model.subnets:
        need(subnet.id, "vpc_id", subnet.vpc_id, Vpc, "VPC")
    _subnet_cidrs(model)
    for rt in model.route_tables:
        need(rt.id, "vpc_id", rt.vpc_id, Vpc, "VPC")
        for sid in rt.subnet_ids:
            need(rt.id, "subnet_ids", sid, Subnet, "subnet")
        _routes(model, rt)
    for igw in model.internet_gateways:
        need(igw.id, "vpc_id", igw.vpc_id, Vpc, "VPC")
    for eigw in model.egress_only_internet_gateways:
        need(eigw.id, "vpc_id", eigw.vpc_id, Vpc, "VPC")
    for nat in model.nat_gateways:
        need(nat.id, "subnet_id", nat.subnet_id, Subnet, "subnet")
        need(nat.id, "network_interface_id", nat.network_interface_id, NetworkInterface, "network interface")
        if nat.connectivity_type == "public" and nat.public_ip is None and nat.state == "available":
            raise model_error(
                model, nat.id, "public_ip", "a public NAT gateway needs an Elastic IP", "set public_ip"
            )
    for ep in model.vpc_endpoints:
        _endpoint(model, ep, need)
    for sg in model.security_groups:
        need(sg.id, "vpc_id", sg.vpc_id, Vpc, "VPC")
        for direction in ("ingress", "egress"):
            for rule in getattr(sg, direction):
                need(sg.id, f"{direction}.group_id", rule.group_id, SecurityGroup, "security group")
                need(
                    sg.id,
                    f"{direction}.prefix_list_id",
                    rule.prefix_list_id,
                    ManagedPrefixList,
                    "prefix list",
                )
    for acl in model.network_acls:
        need(acl.id, "vpc_id", acl.vpc_id, Vpc, "VPC")
        for sid in acl.subnet_ids:
            need(acl.id, "subnet_ids", sid, Subnet, "subnet")
        for direction in ("inbound", "outbound"):
            numbers = Counter((r.rule_number, r.cidr.version) for r in getattr(acl, direction))
            dup = [n for n, c in numbers.items() if c > 1]
            if dup:
                raise model_error(
                    model,
                    acl.id,
                    direction,
                    f"rule number {dup[0][0]} is used twice",
                    "number rules uniquely",
                )
    for eni in model.network_interfaces:
        _interface(model, eni, need)
    for inst in model.instances:
        for eni_id in inst.network_interface_ids:
            need(inst.id, "network_interface_ids", eni_id, NetworkInterface, "network interface")
    for pcx in model.peering_connections:
        need(pcx.id, "requester_vpc_id", pcx.requester_vpc_id, Vpc, "VPC")
        need(pcx.id, "accepter_vpc_id", pcx.accepter_vpc_id, Vpc, "VPC")
    for vpc in model.vpcs:
        _one_each(model, vpc)
    _one_association(model, "route_tables", "route table")
    _one_association(model, "network_acls", "network ACL")
    return model


def _unique_ids(model: Model) -> None:
    from vpcflow.network.store import _RESOURCE_FIELDS

    seen: Counter[str] = Counter()
    for kind in _RESOURCE_FIELDS:
        seen.update(r.id for r in getattr(model, kind))
    for rid, count in seen.items():
        if count > 1:
            raise model_error(model, rid, "id", f"the id is used by {count} resources", "ids must be unique")


def _subnet_cidrs(model: Model) -> None:
    by_vpc: dict[str, list[Subnet]] = {}
    for subnet in model.subnets:
        vpc = model.get(subnet.vpc_id, Vpc)
        if not any(subnet.cidr_block.subnet_of(c) for c in vpc.cidr_blocks):
            raise model_error(
                model,
                subnet.id,
                "cidr_block",
                f"{subnet.cidr_block} is outside the CIDR blocks of {vpc.id} ({', '.join(map(str, vpc.cidr_blocks))})",
                "pick a range inside the VPC",
            )
        if subnet.ipv6_cidr_block is not None and not any(
            subnet.ipv6_cidr_block.subnet_of(c) for c in vpc.ipv6_cidr_blocks
        ):
            raise model_error(
                model,
                subnet.id,
                "ipv6_cidr_block",
                f"{subnet.ipv6_cidr_block} is outside the IPv6 blocks of {vpc.id}",
            )
        by_vpc.setdefault(vpc.id, []).append(subnet)
    for subnets in by_vpc.values():
        ordered = sorted(subnets, key=lambda s: (int(s.cidr_block.network_address), -s.cidr_block.prefixlen))
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after.cidr_block.overlaps(before.cidr_block):
                raise model_error(
                    model,
                    after.id,
                    "cidr_block",
                    f"{after.cidr_block} overlaps {before.id} ({before.cidr_block})",
                    "subnets of one VPC cannot overlap",
                )


_TARGET_KINDS: dict[RouteTarget, tuple[type, ...]] = {
    RouteTarget.internet_gateway: (InternetGateway,),
    RouteTarget.egress_only_internet_gateway: (EgressOnlyInternetGateway,),
    RouteTarget.nat_gateway: (NatGateway,),
    RouteTarget.vpc_endpoint: (VpcEndpoint,),
    RouteTarget.network_interface: (NetworkInterface,),
    RouteTarget.instance: (Instance,),
    RouteTarget.peering_connection: (PeeringConnection,),
    RouteTarget.transit_gateway: (TransitGateway,),
}


def _routes(model: Model, rt: RouteTable) -> None:
    for i, route in enumerate(rt.routes):
        field = f"routes[{i}]"
        if route.destination_prefix_list_id and model.prefix_list(route.destination_prefix_list_id) is None:
            raise model_error(
                model,
                rt.id,
                f"{field}.destination",
                f"prefix list {route.destination_prefix_list_id} does not exist",
                "add it to prefix_lists",
            )
        kinds = _TARGET_KINDS.get(route.target_kind)
        if kinds and route.state == "active" and not isinstance(model.find(route.target), kinds):
            raise model_error(
                model,
                rt.id,
                f"{field}.target",
                f"{route.target} does not exist in the model",
                "add the resource, or write `state: blackhole` for a route whose target was deleted",
            )


def _endpoint(model: Model, ep: VpcEndpoint, need) -> None:  # noqa: ANN001
    need(ep.id, "vpc_id", ep.vpc_id, Vpc, "VPC")
    if ep.vpc_endpoint_type == "Gateway" and ep.service not in GATEWAY_ENDPOINT_SERVICES:
        raise model_error(
            model,
            ep.id,
            "service_name",
            f"{ep.service_name}: gateway endpoints exist only for S3 and DynamoDB",
        )
    for rt_id in ep.route_table_ids:
        need(ep.id, "route_table_ids", rt_id, RouteTable, "route table")
    for sid in ep.subnet_ids:
        need(ep.id, "subnet_ids", sid, Subnet, "subnet")
    for eni_id in ep.network_interface_ids:
        need(ep.id, "network_interface_ids", eni_id, NetworkInterface, "network interface")
    for sg in ep.security_group_ids:
        need(ep.id, "security_group_ids", sg, SecurityGroup, "security group")


def _interface(model: Model, eni: NetworkInterface, need) -> None:  # noqa: ANN001
    need(eni.id, "subnet_id", eni.subnet_id, Subnet, "subnet")
    need(eni.id, "instance_id", eni.instance_id, Instance, "instance")
    subnet = model.get(eni.subnet_id, Subnet)
    for sg in eni.security_group_ids:
        need(eni.id, "security_group_ids", sg, SecurityGroup, "security group")
        if model.get(sg, SecurityGroup).vpc_id != subnet.vpc_id:
            raise model_error(model, eni.id, "security_group_ids", f"{sg} belongs to another VPC")
    for addr in (eni.private_ip, *eni.secondary_private_ips):
        if addr not in subnet.cidr_block:
            raise model_error(
                model, eni.id, "private_ip", f"{addr} is outside {subnet.id} ({subnet.cidr_block})"
            )
    for addr in eni.ipv6_addresses:
        if subnet.ipv6_cidr_block is None or addr not in subnet.ipv6_cidr_block:
            raise model_error(
                model, eni.id, "ipv6_addresses", f"{addr} is outside the IPv6 block of {subnet.id}"
            )
    others = [
        e
        for e in model.interfaces_with_ip(eni.private_ip)
        if e.id != eni.id and model.vpc_of(e).id == subnet.vpc_id
    ]
    if others:
        raise model_error(model, eni.id, "private_ip", f"{eni.private_ip} is also held by {others[0].id}")
    reserved = _reserved(subnet.cidr_block)
    if eni.private_ip in reserved:
        raise model_error(
            model,
            eni.id,
            "private_ip",
            f"{eni.private_ip} is reserved by AWS in {subnet.cidr_block} (first four and last address)",
        )


def _reserved(cidr: IPv4Network) -> set:
    base = cidr.network_address
    return {base, base + 1, base + 2, base + 3, cidr.broadcast_address}


def _one_each(model: Model, vpc: Vpc) -> None:
    mains = [rt.id for rt in model.route_tables if rt.vpc_id == vpc.id and rt.main]
    if len(mains) != 1:
        raise model_error(
            model,
            vpc.id,
            "route_tables",
            f"the VPC has {len(mains)} main route tables",
            "mark exactly one `main: true`",
        )
    defaults = [acl.id for acl in model.network_acls if acl.vpc_id == vpc.id and acl.is_default]
    if len(defaults) != 1:
        raise model_error(
            model,
            vpc.id,
            "network_acls",
            f"the VPC has {len(defaults)} default network ACLs",
            "mark exactly one `is_default: true`",
        )


def _one_association(model: Model, kind: str, what: str) -> None:
    owner: dict[str, str] = {}
    for table in getattr(model, kind):
        for sid in table.subnet_ids:
            if sid in owner:
                raise model_error(
                    model, sid, "association", f"associated with two {what}s: {owner[sid]} and {table.id}"
                )
            owner[sid] = table.id
            subnet = model.get(sid, Subnet)
            if subnet.vpc_id != table.vpc_id:
                raise model_error(
                    model,
                    table.id,
                    "subnet_ids",
                    f"{sid} is in {subnet.vpc_id}, the {what} in {table.vpc_id}",
                )
