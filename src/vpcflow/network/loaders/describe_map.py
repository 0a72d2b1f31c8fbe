"""describe-* JSON -> the model's sections: one function per AWS resource, AWS field names in, model fields out.

`to_sections(snapshot)` returns the sections `assemble` builds and the file each resource came
from. Every resource is built once here with its file as the source, and a bad value is reported
with the AWS field it came from (`CidrBlockAssociationSet[0]`, `Routes[2].NatGatewayId`).

Choices where the output says less than the model needs (docs/model.md, "Loading describe output"):
- resources that cannot carry traffic are left out: terminated instances without interfaces,
  deleted or failed NAT gateways whose interface is gone, detached egress-only gateways, endpoint
  types other than Gateway / Interface / GatewayLoadBalancer, NACL rule 32767 (the implicit `*`);
- a NAT gateway whose interface is missing from describe-network-interfaces gets one built from
  its NatGatewayAddresses; an instance named only by an interface attachment gets a running
  instance; a transit gateway named by a route gets a TransitGateway (its routing is out of scope);
- a peering connection to a VPC that is not in the folder gets a stub VPC (the peer's CIDRs from
  AccepterVpcInfo / RequesterVpcInfo, a main route table and AWS's default ACL and group);
- security-group rules naming a group of another VPC or account that is not in the folder are
  dropped: no interface of the model can be in that group;
- AWS-managed prefix lists without a get-managed-prefix-list-entries file keep the built-in
  entries of the catalog when it has them;
- an instance profile without `get-account-authorization-details` output gets a policy allowing
  every call (Sid `VpcflowIdentityNotImported`): the identity check cannot refuse what it cannot see.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from vpcflow.errors import ModelError
from vpcflow.network.aws_catalog import builtin_prefix_lists
from vpcflow.network.loaders.common import build
from vpcflow.network.loaders.describe import REGION_RE, Located, Snapshot, environment_region, regions_named
from vpcflow.network.loaders.iam_details import UNKNOWN_IDENTITY, profile_policies

# Model field -> AWS field, per section, for error messages.
AWS_FIELDS: dict[str, dict[str, str]] = {
    "vpcs": {
        "id": "VpcId",
        "cidr_blocks": "CidrBlockAssociationSet",
        "ipv6_cidr_blocks": "Ipv6CidrBlockAssociationSet",
        "account_id": "OwnerId",
        "region": "Region (from the subnets' AvailabilityZone)",
    },
    "subnets": {
        "id": "SubnetId",
        "vpc_id": "VpcId",
        "cidr_block": "CidrBlock",
        "ipv6_cidr_block": "Ipv6CidrBlockAssociationSet",
        "availability_zone": "AvailabilityZone",
        "availability_zone_id": "AvailabilityZoneId",
    },
    "route_tables": {
        "id": "RouteTableId",
        "vpc_id": "VpcId",
        "subnet_ids": "Associations",
        "routes": "Routes",
    },
    "nat_gateways": {
        "id": "NatGatewayId",
        "subnet_id": "SubnetId",
        "private_ip": "NatGatewayAddresses[].PrivateIp",
        "public_ip": "NatGatewayAddresses[].PublicIp",
        "network_interface_id": "NatGatewayAddresses[].NetworkInterfaceId",
    },
    "vpc_endpoints": {"id": "VpcEndpointId", "service_name": "ServiceName", "policy": "PolicyDocument"},
    "security_groups": {"id": "GroupId", "ingress": "IpPermissions", "egress": "IpPermissionsEgress"},
    "network_acls": {"id": "NetworkAclId", "inbound": "Entries", "outbound": "Entries"},
    "network_interfaces": {
        "id": "NetworkInterfaceId",
        "private_ip": "PrivateIpAddress",
        "secondary_private_ips": "PrivateIpAddresses",
        "ipv6_addresses": "Ipv6Addresses",
        "public_ip": "Association.PublicIp",
        "security_group_ids": "Groups",
    },
    "instances": {"id": "InstanceId", "network_interface_ids": "NetworkInterfaces"},
    "prefix_lists": {"id": "PrefixListId", "cidrs": "Entries[].Cidr"},
}
ROUTE_FIELDS = {
    "destination_cidr": "DestinationCidrBlock",
    "destination_prefix_list_id": "DestinationPrefixListId",
}
ROUTE_TARGET_KEYS = (
    "NatGatewayId",
    "VpcPeeringConnectionId",
    "TransitGatewayId",
    "EgressOnlyInternetGatewayId",
    "NetworkInterfaceId",
    "InstanceId",
    "GatewayId",
)
UNSUPPORTED_TARGETS = ("LocalGatewayId", "CarrierGatewayId", "CoreNetworkArn", "OdbNetworkArn")
ORIGINS = {
    "CreateRouteTable": "CreateRouteTable",
    "CreateRoute": "CreateRoute",
    "EnableVgwRoutePropagation": "EnableVgwRoutePropagation",
    "Advertisement": "EnableVgwRoutePropagation",  # dynamic routes: ranked like propagated ones
}
ENDPOINT_STATES = {
    "pendingacceptance": "pendingAcceptance",
    "partial": "available",  # usable in the subnets whose interfaces exist
}
PEERING_STATES = {
    "initiating-request": "pending-acceptance",
    "provisioning": "pending-acceptance",
    "deleting": "deleted",
    "expired": "failed",
}


def fail(file: Path, rid: str, field: str, message: str, fix: str = "") -> ModelError:
    err = ModelError(f"{file}: {rid}: field {field!r}: {message}" + (f" ({fix})" if fix else ""))
    err.resource_id = rid  # type: ignore[attr-defined]
    err.field = field  # type: ignore[attr-defined]
    return err


def name_tag(data: dict[str, Any]) -> str | None:
    for tag in data.get("Tags") or data.get("TagSet") or ():
        if isinstance(tag, dict) and tag.get("Key") == "Name":
            return tag.get("Value")
    return None


def _associated(item: dict[str, Any], state_key: str) -> bool:
    state = (item.get(state_key) or {}).get("State") if isinstance(item.get(state_key), dict) else None
    return state in (None, "associated", "associating")


def _aws_field(kind: str, field: str) -> str:
    parts = field.split(".")
    out = AWS_FIELDS.get(kind, {}).get(parts[0], parts[0])
    for part in parts[1:]:
        out += f"[{part}]" if part.isdigit() else f".{ROUTE_FIELDS.get(part, part)}"
    return out


class _Sections:
    """Accumulates built resources; one id, one resource (identical repeats are dropped)."""

    def __init__(self) -> None:
        self.sections: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.origins: dict[str, Path] = {}
        self.seen: dict[str, dict[str, Any]] = {}

    def add(self, kind: str, file: Path, data: dict[str, Any]) -> None:
        rid = str(data["id"])
        if rid in self.seen:
            if self.seen[rid] == data:
                return
            raise fail(
                file,
                rid,
                "id",
                f"listed again with other values (first in {self.origins[rid]})",
                "keep one copy of the describe output per resource",
            )
        try:
            build(kind, data, str(file), len(self.sections[kind]))
        except ModelError as exc:
            field = getattr(exc, "field", None)
            if field:
                aws = _aws_field(kind, field)
                raise fail(file, rid, aws, str(exc).split(f"field {field!r}: ", 1)[-1]) from None
            raise
        self.seen[rid] = data
        self.origins[rid] = file
        self.sections[kind].append(data)

    def has(self, rid: str) -> bool:
        return rid in self.seen


def to_sections(
    snap: Snapshot, *, region: str | None = None, account: str | None = None
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Path]]:
    out = _Sections()
    regions = _vpc_regions(snap, region)
    sg_ids = {str(x.data.get("GroupId")) for x in snap.of("security_groups")}
    for item in snap.of("vpcs"):
        out.add("vpcs", item.file, _vpc(item, snap, regions, account))
    for item in snap.of("subnets"):
        out.add("subnets", item.file, _subnet(item))
    _check_defaults(snap)
    for item in snap.of("route_tables"):
        out.add("route_tables", item.file, _route_table(item))
    for item in snap.of("internet_gateways"):
        out.add("internet_gateways", item.file, _internet_gateway(item))
    for item in snap.of("egress_only_internet_gateways"):
        eigw = _egress_only_gateway(item)
        if eigw is not None:
            out.add("egress_only_internet_gateways", item.file, eigw)
    for item in snap.of("security_groups"):
        out.add("security_groups", item.file, _security_group(item, sg_ids))
    for item in snap.of("network_acls"):
        out.add("network_acls", item.file, _network_acl(item))
    for item in snap.of("network_interfaces"):
        out.add("network_interfaces", item.file, _interface(item.file, item.data))
    _instances(snap, out)
    for item in snap.of("nat_gateways"):
        _nat_gateway(item, out)
    for item in snap.of("vpc_endpoints"):
        endpoint = _endpoint(item)
        if endpoint is not None:
            out.add("vpc_endpoints", item.file, endpoint)
    _prefix_lists(snap, out, regions)
    _peerings(snap, out)
    _transit_gateways(out)
    return dict(out.sections), out.origins


# --- VPCs and subnets ----------------------------------------------------------------------------


def _vpc_regions(snap: Snapshot, hint: str | None) -> dict[str, str]:
    """VPC id -> Region: its subnets' AZs, else the one Region the folder names, else hint / env."""
    by_vpc: dict[str, set[str]] = defaultdict(set)
    for item in snap.of("subnets"):
        match = REGION_RE.search(str(item.data.get("AvailabilityZone") or ""))
        if match:
            by_vpc[str(item.data.get("VpcId"))].add(match.group(1))
    named = regions_named(snap)
    fallback = hint or (next(iter(named)) if len(named) == 1 else None) or environment_region()
    regions: dict[str, str] = {}
    for item in snap.of("vpcs"):
        vid = str(item.data.get("VpcId"))
        found = by_vpc.get(vid, set())
        if len(found) > 1:
            raise fail(
                item.file, vid, "Region", f"its subnets are in several Regions ({', '.join(sorted(found))})"
            )
        chosen = next(iter(found), None) or fallback
        if chosen is None:
            raise fail(
                item.file,
                vid,
                "Region",
                "the Region cannot be told: the VPC has no subnets and the folder names "
                + (f"several Regions ({', '.join(sorted(named))})" if named else "no Region"),
                "set AWS_REGION to the Region the describe output comes from",
            )
        regions[vid] = chosen
    return regions


def _vpc(item: Located, snap: Snapshot, regions: dict[str, str], account: str | None) -> dict[str, Any]:
    d = item.data
    vid = _required(item, d, "VpcId")
    cidrs = [
        a.get("CidrBlock")
        for a in d.get("CidrBlockAssociationSet") or ()
        if isinstance(a, dict) and _associated(a, "CidrBlockState")
    ] or ([d["CidrBlock"]] if d.get("CidrBlock") else [])
    ipv6 = [
        a.get("Ipv6CidrBlock")
        for a in d.get("Ipv6CidrBlockAssociationSet") or ()
        if isinstance(a, dict) and _associated(a, "Ipv6CidrBlockState")
    ]
    attrs = snap.vpc_attributes.get(vid, {})
    is_default = bool(d.get("IsDefault", False))
    out: dict[str, Any] = {
        "id": vid,
        "region": regions[vid],
        "cidr_blocks": cidrs,
        "ipv6_cidr_blocks": ipv6,
        # AWS: both attributes are on in a default VPC; a nondefault VPC has DNS hostnames off.
        "enable_dns_support": attrs.get("enable_dns_support", True),
        "enable_dns_hostnames": attrs.get("enable_dns_hostnames", is_default),
        "is_default": is_default,
        "name": name_tag(d),
    }
    owner = d.get("OwnerId") or account
    if owner:
        out["account_id"] = str(owner)
    return out


def _subnet(item: Located) -> dict[str, Any]:
    d = item.data
    sid = _required(item, d, "SubnetId")
    if not d.get("CidrBlock"):
        raise fail(
            item.file,
            sid,
            "CidrBlock",
            "an IPv6-only subnet is not modelled (vpcflow needs an IPv4 CIDR per subnet)",
            "remove the subnet from the file",
        )
    ipv6 = [
        a.get("Ipv6CidrBlock")
        for a in d.get("Ipv6CidrBlockAssociationSet") or ()
        if isinstance(a, dict) and _associated(a, "Ipv6CidrBlockState")
    ]
    return {
        "id": sid,
        "vpc_id": _required(item, d, "VpcId"),
        "cidr_block": d["CidrBlock"],
        "ipv6_cidr_block": ipv6[0] if ipv6 else None,
        "availability_zone": _required(item, d, "AvailabilityZone"),
        "availability_zone_id": d.get("AvailabilityZoneId"),
        "map_public_ip_on_launch": bool(d.get("MapPublicIpOnLaunch", False)),
        "name": name_tag(d),
    }


def _required(item: Located, d: dict[str, Any], key: str, rid: str | None = None) -> str:
    value = d.get(key)
    if value in (None, ""):
        raise fail(item.file, rid or "(resource)", key, "missing", "keep the AWS CLI's output whole")
    return str(value)


def _check_defaults(snap: Snapshot) -> None:
    """Each VPC has one main route table and one default ACL in AWS's output; a filtered file does not."""
    vpcs = {str(x.data.get("VpcId")): x for x in snap.of("vpcs")}
    mains = {
        str(x.data.get("VpcId"))
        for x in snap.of("route_tables")
        if any(isinstance(a, dict) and a.get("Main") for a in x.data.get("Associations") or ())
    }
    defaults = {str(x.data.get("VpcId")) for x in snap.of("network_acls") if x.data.get("IsDefault")}
    for vid, item in vpcs.items():
        if vid not in mains:
            raise fail(
                item.file,
                vid,
                "RouteTables",
                "no route table of this VPC has Associations[].Main true",
                "include every route table of the VPC (aws ec2 describe-route-tables --filters Name=vpc-id,Values="
                + vid
                + ")",
            )
        if vid not in defaults:
            raise fail(
                item.file,
                vid,
                "NetworkAcls",
                "no network ACL of this VPC has IsDefault true",
                "include every network ACL of the VPC (aws ec2 describe-network-acls --filters Name=vpc-id,Values="
                + vid
                + ")",
            )


# --- Routing -------------------------------------------------------------------------------------


def _route_table(item: Located) -> dict[str, Any]:
    d = item.data
    rid = _required(item, d, "RouteTableId")
    assocs = [
        a for a in d.get("Associations") or () if isinstance(a, dict) and _associated(a, "AssociationState")
    ]
    routes = [_route(item, rid, i, r) for i, r in enumerate(d.get("Routes") or ())]
    return {
        "id": rid,
        "vpc_id": _required(item, d, "VpcId", rid),
        "main": any(bool(a.get("Main")) for a in assocs),
        "subnet_ids": [a["SubnetId"] for a in assocs if a.get("SubnetId")],
        "gateway_ids": [a["GatewayId"] for a in assocs if a.get("GatewayId")],
        "routes": routes,
        "name": name_tag(d),
    }


def _route(item: Located, rid: str, i: int, r: Any) -> dict[str, Any]:
    where = f"Routes[{i}]"
    if not isinstance(r, dict):
        raise fail(item.file, rid, where, "expected an object")
    for key in UNSUPPORTED_TARGETS:
        if r.get(key):
            raise fail(
                item.file,
                rid,
                f"{where}.{key}",
                f"routes to {key.removesuffix('Id').removesuffix('Arn')} targets are not modelled",
                "remove the route from the file to analyse the rest",
            )
    target = next((str(r[k]) for k in ROUTE_TARGET_KEYS if r.get(k)), None)
    if target is None:
        raise fail(item.file, rid, where, "the route names no target (GatewayId, NatGatewayId, ...)")
    destination = (
        r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock") or r.get("DestinationPrefixListId")
    )
    if not destination:
        raise fail(
            item.file,
            rid,
            where,
            "the route has no DestinationCidrBlock, DestinationIpv6CidrBlock or DestinationPrefixListId",
        )
    key = "destination_prefix_list_id" if str(destination).startswith("pl-") else "destination_cidr"
    return {
        key: destination,
        "target": target,
        "state": "blackhole" if r.get("State") == "blackhole" else "active",
        "origin": ORIGINS.get(str(r.get("Origin")), "CreateRoute"),
    }


def _internet_gateway(item: Located) -> dict[str, Any]:
    d = item.data
    gid = _required(item, d, "InternetGatewayId")
    # AWS prints State "available" for an attached internet gateway (the API reference lists "attached").
    attached = [
        a.get("VpcId")
        for a in d.get("Attachments") or ()
        if isinstance(a, dict) and a.get("State") in ("available", "attached")
    ]
    return {"id": gid, "vpc_id": attached[0] if attached else None, "name": name_tag(d)}


def _egress_only_gateway(item: Located) -> dict[str, Any] | None:
    d = item.data
    gid = _required(item, d, "EgressOnlyInternetGatewayId")
    attached = [
        a.get("VpcId")
        for a in d.get("Attachments") or ()
        if isinstance(a, dict) and a.get("State") in ("attached", "available")
    ]
    return {"id": gid, "vpc_id": attached[0], "name": name_tag(d)} if attached else None


def _transit_gateways(out: _Sections) -> None:
    vpcs_of: dict[str, set[str]] = defaultdict(set)
    for rt in out.sections.get("route_tables", []):
        for route in rt["routes"]:
            if route["target"].startswith("tgw-"):
                vpcs_of[route["target"]].add(rt["vpc_id"])
    for tgw, vpcs in sorted(vpcs_of.items()):
        rt_file = next(
            out.origins[rt["id"]]
            for rt in out.sections["route_tables"]
            if any(r["target"] == tgw for r in rt["routes"])
        )
        out.add("transit_gateways", rt_file, {"id": tgw, "vpc_ids": sorted(vpcs)})


# --- Filters -------------------------------------------------------------------------------------


def _security_group(item: Located, known_groups: set[str]) -> dict[str, Any]:
    d = item.data
    gid = _required(item, d, "GroupId")
    vpc_id = _required(item, d, "VpcId", gid)
    owner = d.get("OwnerId")
    return {
        "id": gid,
        "vpc_id": vpc_id,
        "group_name": d.get("GroupName") or "",
        "ingress": _permissions(item, gid, "IpPermissions", known_groups, vpc_id, owner),
        "egress": _permissions(item, gid, "IpPermissionsEgress", known_groups, vpc_id, owner),
        "name": name_tag(d),
    }


def _permissions(
    item: Located, gid: str, key: str, known: set[str], vpc_id: str, owner: str | None
) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for i, perm in enumerate(item.data.get(key) or ()):
        if not isinstance(perm, dict):
            raise fail(item.file, gid, f"{key}[{i}]", "expected an object")
        base: dict[str, Any] = {"protocol": str(perm.get("IpProtocol", "-1"))}
        if base["protocol"] not in ("-1", "all") and perm.get("FromPort") is not None:
            base["from_port"] = perm["FromPort"]
            base["to_port"] = perm.get("ToPort", perm["FromPort"])
        peers: list[tuple[str, Any, Any]] = []
        peers += [("cidr", r.get("CidrIp"), r.get("Description")) for r in perm.get("IpRanges") or ()]
        peers += [("cidr", r.get("CidrIpv6"), r.get("Description")) for r in perm.get("Ipv6Ranges") or ()]
        peers += [
            ("prefix_list_id", r.get("PrefixListId"), r.get("Description"))
            for r in perm.get("PrefixListIds") or ()
        ]
        for pair in perm.get("UserIdGroupPairs") or ():
            ref = pair.get("GroupId")
            foreign = (
                (pair.get("VpcId") and pair["VpcId"] != vpc_id)
                or (pair.get("UserId") and owner and pair["UserId"] != owner)
                or pair.get("VpcPeeringConnectionId")
            )
            if ref not in known and foreign:
                continue  # a group of another VPC or account: no interface of this model is in it
            peers.append(("group_id", ref, pair.get("Description")))
        for field, value, description in peers:
            if not value:
                raise fail(item.file, gid, f"{key}[{i}]", f"a {field} peer without a value")
            rules.append({**base, field: value, "description": description})
    return rules


def _network_acl(item: Located) -> dict[str, Any]:
    d = item.data
    aid = _required(item, d, "NetworkAclId")
    inbound: list[dict[str, Any]] = []
    outbound: list[dict[str, Any]] = []
    for i, entry in enumerate(d.get("Entries") or ()):
        if not isinstance(entry, dict):
            raise fail(item.file, aid, f"Entries[{i}]", "expected an object")
        if entry.get("RuleNumber") == 32767:
            continue  # AWS's `*` rule: implicit in the model
        cidr = entry.get("CidrBlock") or entry.get("Ipv6CidrBlock")
        if not cidr:
            raise fail(item.file, aid, f"Entries[{i}]", "no CidrBlock or Ipv6CidrBlock")
        rule: dict[str, Any] = {
            "rule_number": entry.get("RuleNumber"),
            "protocol": str(entry.get("Protocol", "-1")),
            "action": entry.get("RuleAction"),
            "cidr": cidr,
        }
        ports = entry.get("PortRange")
        if isinstance(ports, dict) and ports.get("From") is not None:
            rule["from_port"], rule["to_port"] = ports["From"], ports.get("To", ports["From"])
        icmp = entry.get("IcmpTypeCode")
        if isinstance(icmp, dict):
            rule["icmp_type"], rule["icmp_code"] = icmp.get("Type"), icmp.get("Code")
        (outbound if entry.get("Egress") else inbound).append(rule)
    return {
        "id": aid,
        "vpc_id": _required(item, d, "VpcId", aid),
        "is_default": bool(d.get("IsDefault", False)),
        "subnet_ids": [
            a["SubnetId"] for a in d.get("Associations") or () if isinstance(a, dict) and a.get("SubnetId")
        ],
        "inbound": inbound,
        "outbound": outbound,
        "name": name_tag(d),
    }


# --- Interfaces, instances, NAT gateways, endpoints ----------------------------------------------


def _interface(file: Path, d: dict[str, Any], instance_id: str | None = None) -> dict[str, Any]:
    eid = d.get("NetworkInterfaceId")
    if not eid:
        raise fail(file, instance_id or "(interface)", "NetworkInterfaceId", "missing")
    if not d.get("PrivateIpAddress"):
        raise fail(file, eid, "PrivateIpAddress", "missing (an IPv6-only interface is not modelled)")
    association = d.get("Association") if isinstance(d.get("Association"), dict) else {}
    attachment = d.get("Attachment") if isinstance(d.get("Attachment"), dict) else {}
    return {
        "id": eid,
        "subnet_id": d.get("SubnetId"),
        "private_ip": d["PrivateIpAddress"],
        "secondary_private_ips": [
            a["PrivateIpAddress"]
            for a in d.get("PrivateIpAddresses") or ()
            if isinstance(a, dict) and not a.get("Primary") and a.get("PrivateIpAddress")
        ],
        "ipv6_addresses": [
            a["Ipv6Address"]
            for a in d.get("Ipv6Addresses") or ()
            if isinstance(a, dict) and a.get("Ipv6Address")
        ],
        "public_ip": association.get("PublicIp"),
        "elastic_ip_allocation_id": association.get("AllocationId"),
        "security_group_ids": [
            g["GroupId"] for g in d.get("Groups") or () if isinstance(g, dict) and g.get("GroupId")
        ],
        "interface_type": d.get("InterfaceType") or "interface",
        "instance_id": instance_id or attachment.get("InstanceId"),
        "source_dest_check": bool(d.get("SourceDestCheck", True)),
        "requester_managed": bool(d.get("RequesterManaged", False)),
        "description": d.get("Description") or None,
        "name": name_tag(d),
    }


def _instances(snap: Snapshot, out: _Sections) -> None:
    policies = profile_policies(snap.iam)
    described: set[str] = set()
    for item in snap.of("reservations"):
        for j, inst in enumerate(item.data.get("Instances") or ()):
            if not isinstance(inst, dict):
                raise fail(item.file, "(reservation)", f"Instances[{j}]", "expected an object")
            iid = _required(item, inst, "InstanceId")
            nics = sorted(
                (n for n in inst.get("NetworkInterfaces") or () if isinstance(n, dict)),
                key=lambda n: (
                    (n.get("Attachment") or {}).get("NetworkCardIndex", 0),
                    (n.get("Attachment") or {}).get("DeviceIndex", 0),
                ),
            )
            state = (inst.get("State") or {}).get("Name", "running")
            if not nics:
                if state in ("terminated", "shutting-down"):
                    continue  # gone: nothing left on the network
                raise fail(
                    item.file,
                    iid,
                    "NetworkInterfaces",
                    "an instance that is not terminated lists no interface",
                )
            for nic in nics:
                if not out.has(nic.get("NetworkInterfaceId", "")):
                    nic = {**nic, "SubnetId": nic.get("SubnetId") or inst.get("SubnetId")}
                    out.add("network_interfaces", item.file, _interface(item.file, nic, iid))
            profile = (inst.get("IamInstanceProfile") or {}).get("Arn")
            data: dict[str, Any] = {
                "id": iid,
                "network_interface_ids": [n["NetworkInterfaceId"] for n in nics],
                "state": state,
                "iam_instance_profile_arn": profile,
                "name": name_tag(inst),
            }
            if profile:
                data["identity_policies"] = (
                    policies.get(profile, [UNKNOWN_IDENTITY]) if snap.iam else [UNKNOWN_IDENTITY]
                )
            out.add("instances", item.file, data)
            described.add(iid)
    # Interfaces attached to an instance that describe-instances did not list: the instance exists.
    attached: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for eni in out.sections.get("network_interfaces", []):
        if eni["instance_id"] and eni["instance_id"] not in described:
            attached[eni["instance_id"]].append((_device_index(snap, eni["id"]), eni["id"]))
    for iid, enis in sorted(attached.items()):
        out.add(
            "instances",
            out.origins[enis[0][1]],
            {"id": iid, "network_interface_ids": [e for _, e in sorted(enis)], "state": "running"},
        )


def _device_index(snap: Snapshot, eni_id: str) -> int:
    for item in snap.of("network_interfaces"):
        if item.data.get("NetworkInterfaceId") == eni_id:
            return int((item.data.get("Attachment") or {}).get("DeviceIndex", 0))
    return 0


def _nat_gateway(item: Located, out: _Sections) -> None:
    d = item.data
    nid = _required(item, d, "NatGatewayId")
    state = str(d.get("State", "available"))
    addresses = [a for a in d.get("NatGatewayAddresses") or () if isinstance(a, dict)]
    primary = next((a for a in addresses if a.get("IsPrimary")), addresses[0] if addresses else {})
    eni_id, private_ip = primary.get("NetworkInterfaceId"), primary.get("PrivateIp")
    if state in ("deleted", "deleting", "failed") and (not eni_id or not out.has(eni_id)):
        return  # AWS removed its interface; routes to it show State blackhole
    if not eni_id or not private_ip:
        raise fail(
            item.file, nid, "NatGatewayAddresses", "no NetworkInterfaceId and PrivateIp for the gateway"
        )
    connectivity = str(d.get("ConnectivityType", "public"))
    subnet_id = _required(item, d, "SubnetId", nid)
    if not out.has(eni_id):
        out.add(
            "network_interfaces",
            item.file,
            {
                "id": eni_id,
                "subnet_id": subnet_id,
                "private_ip": private_ip,
                "public_ip": primary.get("PublicIp"),
                "elastic_ip_allocation_id": primary.get("AllocationId"),
                "interface_type": "nat_gateway",
                "requester_managed": True,
                "source_dest_check": False,
                "description": f"Interface for NAT Gateway {nid}",
            },
        )
    out.add(
        "nat_gateways",
        item.file,
        {
            "id": nid,
            "subnet_id": subnet_id,
            "connectivity_type": connectivity,
            "network_interface_id": eni_id,
            "private_ip": private_ip,
            "public_ip": primary.get("PublicIp") if connectivity == "public" else None,
            "allocation_id": primary.get("AllocationId"),
            "state": state,
            "name": name_tag(d),
        },
    )


def _endpoint(item: Located) -> dict[str, Any] | None:
    import json

    d = item.data
    eid = _required(item, d, "VpcEndpointId")
    kind = d.get("VpcEndpointType")
    if kind not in ("Gateway", "Interface", "GatewayLoadBalancer"):
        return None  # Resource / ServiceNetwork endpoints reach VPC Lattice resources: not modelled
    policy = d.get("PolicyDocument")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError as exc:
            raise fail(item.file, eid, "PolicyDocument", f"not a JSON policy document: {exc.msg}") from None
    state = str(d.get("State", "available")).lower()
    dns = d.get("DnsOptions") if isinstance(d.get("DnsOptions"), dict) else {}
    return {
        "id": eid,
        "vpc_id": _required(item, d, "VpcId", eid),
        "vpc_endpoint_type": kind,
        "service_name": _required(item, d, "ServiceName", eid),
        "state": ENDPOINT_STATES.get(state, state),
        "policy": policy,
        "route_table_ids": list(d.get("RouteTableIds") or ()),
        "subnet_ids": list(d.get("SubnetIds") or ()),
        "network_interface_ids": list(d.get("NetworkInterfaceIds") or ()),
        "security_group_ids": [
            g["GroupId"] for g in d.get("Groups") or () if isinstance(g, dict) and g.get("GroupId")
        ],
        "private_dns_enabled": bool(d.get("PrivateDnsEnabled", False)),
        "private_dns_only_for_inbound_resolver_endpoint": bool(
            dns.get("PrivateDnsOnlyForInboundResolverEndpoint", False)
        ),
        "name": name_tag(d),
    }


# --- AWS side: prefix lists, peering -------------------------------------------------------------


def _prefix_lists(snap: Snapshot, out: _Sections, regions: dict[str, str]) -> None:
    builtin = {p.id for p in builtin_prefix_lists()} | {p.prefix_list_name for p in builtin_prefix_lists()}
    fallback = next(iter(set(regions.values())), None) if len(set(regions.values())) == 1 else None
    for item in snap.of("prefix_lists"):
        d = item.data
        pid = _required(item, d, "PrefixListId")
        name = str(d.get("PrefixListName") or pid)
        found = REGION_RE.search(name) or REGION_RE.search(str(d.get("PrefixListArn") or ""))
        region = found.group(1) if found else fallback or environment_region()
        if region is None:
            raise fail(item.file, pid, "PrefixListName", "the Region cannot be told", "set AWS_REGION")
        if "Cidrs" in d:  # describe-prefix-lists (older API, used by Batfish snapshots)
            cidrs, source = list(d.get("Cidrs") or ()), item.file
        elif pid in snap.prefix_list_entries:
            entries = snap.prefix_list_entries[pid]
            cidrs, source = (
                [e.get("Cidr") for e in entries.data["Entries"] if isinstance(e, dict)],
                entries.file,
            )
        elif pid in builtin or name in builtin:
            continue  # keep the catalog's entries
        else:
            cidrs, source = [], item.file
        data = {
            "id": pid,
            "prefix_list_name": name,
            "region": region,
            "cidrs": cidrs,
            "owner_id": str(d.get("OwnerId") or "AWS"),
        }
        out.add("prefix_lists", source, data)
    for pid, entries in snap.prefix_list_entries.items():
        if not out.has(pid) and not any(
            str(x.data.get("PrefixListId")) == pid for x in snap.of("prefix_lists")
        ):
            raise fail(
                entries.file,
                pid,
                "PrefixListId",
                "entries for a prefix list that describe-managed-prefix-lists does not list",
                "add the output of `aws ec2 describe-managed-prefix-lists` to the folder",
            )


def _peerings(snap: Snapshot, out: _Sections) -> None:
    for item in snap.of("peering_connections"):
        d = item.data
        pid = _required(item, d, "VpcPeeringConnectionId")
        sides = {}
        for side in ("RequesterVpcInfo", "AccepterVpcInfo"):
            info = d.get(side) if isinstance(d.get(side), dict) else {}
            vid = info.get("VpcId")
            if not vid:
                raise fail(item.file, pid, f"{side}.VpcId", "missing")
            sides[side] = vid
            if not out.has(vid):
                _stub_vpc(item, pid, side, info, out)
        status = str((d.get("Status") or {}).get("Code", "active"))
        out.add(
            "peering_connections",
            item.file,
            {
                "id": pid,
                "requester_vpc_id": sides["RequesterVpcInfo"],
                "accepter_vpc_id": sides["AccepterVpcInfo"],
                "status": PEERING_STATES.get(status, status),
                "name": name_tag(d),
            },
        )
    for rt in out.sections.get("route_tables", []):
        for i, route in enumerate(rt["routes"]):
            if (
                route["target"].startswith("pcx-")
                and route["state"] == "active"
                and not out.has(route["target"])
            ):
                raise fail(
                    out.origins[rt["id"]],
                    rt["id"],
                    f"Routes[{i}].VpcPeeringConnectionId",
                    f"{route['target']} is not described",
                    "add the output of `aws ec2 describe-vpc-peering-connections` to the folder",
                )


def _stub_vpc(item: Located, pid: str, side: str, info: dict[str, Any], out: _Sections) -> None:
    """The peer VPC of another account or Region: its CIDRs only, with what AWS creates in every VPC."""
    vid = str(info["VpcId"])
    cidrs = [c.get("CidrBlock") for c in info.get("CidrBlockSet") or () if isinstance(c, dict)] or [
        info.get("CidrBlock")
    ]
    if not all(cidrs):
        raise fail(item.file, pid, f"{side}.CidrBlock", f"the CIDRs of peer VPC {vid} are missing")
    region = info.get("Region") or environment_region()
    if not region:
        raise fail(
            item.file, pid, f"{side}.Region", f"the Region of peer VPC {vid} is missing", "set AWS_REGION"
        )
    tag = vid.split("-", 1)[1]
    vpc = {
        "id": vid,
        "region": region,
        "cidr_blocks": cidrs,
        "ipv6_cidr_blocks": [
            c.get("Ipv6CidrBlock") for c in info.get("Ipv6CidrBlockSet") or () if isinstance(c, dict)
        ],
        "name": f"peer of {pid} (not in the folder)",
    }
    if info.get("OwnerId"):
        vpc["account_id"] = str(info["OwnerId"])
    allow = [{"rule_number": 100, "protocol": "-1", "action": "allow", "cidr": "0.0.0.0/0"}]
    out.add("vpcs", item.file, vpc)
    out.add("route_tables", item.file, {"id": f"rtb-{tag}-main", "vpc_id": vid, "main": True})
    out.add(
        "network_acls",
        item.file,
        {"id": f"acl-{tag}-default", "vpc_id": vid, "is_default": True, "inbound": allow, "outbound": allow},
    )
