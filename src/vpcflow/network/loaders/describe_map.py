"""describe-* JSON -> the model's sections: `to_sections(snapshot)`, and the VPCs, routing, prefix lists and peering.

`to_sections` returns the sections `assemble` builds and the file each resource came from.
Interfaces, instances, NAT gateways and endpoints are mapped in `describe_hosts`, security groups
and network ACLs in `describe_filters`; the field names for errors are in `describe_fields`.

Choices where the output says less than the model needs (docs/model.md, "Loading describe output"):
- resources that cannot carry traffic are left out: terminated instances without interfaces,
  deleted or failed NAT gateways whose interface is gone, detached egress-only gateways, endpoint
  types other than Gateway / Interface / GatewayLoadBalancer, NACL rule 32767 (the implicit `*`);
- a NAT gateway whose interface is missing from describe-network-interfaces gets one built from
  its NatGatewayAddresses; an instance named only by an interface attachment gets a running
  instance; a transit gateway named by a route gets a TransitGateway (its routing is out of scope);
- a peering connection to a VPC that is not in the folder gets a stub VPC (the peer's CIDRs from
  AccepterVpcInfo / RequesterVpcInfo, a main route table and AWS's default allow-all ACL);
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

from vpcflow.network.aws_catalog import builtin_prefix_lists
from vpcflow.network.loaders.describe import REGION_RE, Located, Snapshot, environment_region, regions_named
from vpcflow.network.loaders.describe_fields import Sections, associated, fail, name_tag, required
from vpcflow.network.loaders.describe_filters import network_acl, security_group
from vpcflow.network.loaders.describe_hosts import endpoint, instances, interface, nat_gateway

# Model field -> AWS field, per section, for error messages.
ROUTE_TARGET_KEYS = (
    "NatGatewayId",
    "VpcPeeringConnectionId",
    "TransitGatewayId",
    "EgressOnlyInternetGatewayId",
    "NetworkInterfaceId",
    "InstanceId",
    "GatewayId",
)
DESTINATION_KEYS = ("DestinationCidrBlock", "DestinationIpv6CidrBlock", "DestinationPrefixListId")
UNSUPPORTED_TARGETS = ("LocalGatewayId", "CarrierGatewayId", "CoreNetworkArn", "OdbNetworkArn")
ORIGINS = {
    "CreateRouteTable": "CreateRouteTable",
    "CreateRoute": "CreateRoute",
    "EnableVgwRoutePropagation": "EnableVgwRoutePropagation",
    "Advertisement": "EnableVgwRoutePropagation",  # dynamic routes: ranked like propagated ones
}
PEERING_STATES = {
    "initiating-request": "pending-acceptance",
    "provisioning": "pending-acceptance",
    "deleting": "deleted",
    "expired": "failed",
}


def to_sections(
    snap: Snapshot, *, region: str | None = None, account: str | None = None
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, tuple[Path, str, dict[str, str]]]]:
    out = Sections()
    regions = _vpc_regions(snap, region)
    sg_ids = {str(x.data.get("GroupId")) for x in snap.of("security_groups")}
    for item in snap.of("vpcs"):
        out.add("vpcs", item.file, _vpc(item, snap, regions, account))
    for item in snap.of("subnets"):
        out.add("subnets", item.file, _subnet(item))
    _check_defaults(snap)
    for item in snap.of("route_tables"):
        out.add("route_tables", item.file, *_route_table(item))
    for item in snap.of("internet_gateways"):
        out.add("internet_gateways", item.file, _internet_gateway(item))
    for item in snap.of("egress_only_internet_gateways"):
        eigw = _egress_only_gateway(item)
        if eigw is not None:
            out.add("egress_only_internet_gateways", item.file, eigw)
    for item in snap.of("security_groups"):
        out.add("security_groups", item.file, security_group(item, sg_ids))
    for item in snap.of("network_acls"):
        out.add("network_acls", item.file, network_acl(item))
    for item in snap.of("network_interfaces"):
        out.add("network_interfaces", item.file, interface(item.file, item.data))
    instances(snap, out)
    for item in snap.of("nat_gateways"):
        nat_gateway(item, out)
    for item in snap.of("vpc_endpoints"):
        ep = endpoint(item)
        if ep is not None:
            out.add("vpc_endpoints", item.file, ep)
    _prefix_lists(snap, out, regions)
    _peerings(snap, out)
    _transit_gateways(out)
    return dict(out.sections), {
        rid: (path, out.kinds[rid], out.names[rid]) for rid, path in out.origins.items()
    }


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
        chosen = next(iter(found), None) or snap.region_of_file.get(item.file) or fallback
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
    vid = required(item, d, "VpcId")
    cidrs = [
        a.get("CidrBlock")
        for a in d.get("CidrBlockAssociationSet") or ()
        if isinstance(a, dict) and associated(a, "CidrBlockState")
    ] or ([d["CidrBlock"]] if d.get("CidrBlock") else [])
    ipv6 = [
        a.get("Ipv6CidrBlock")
        for a in d.get("Ipv6CidrBlockAssociationSet") or ()
        if isinstance(a, dict) and associated(a, "Ipv6CidrBlockState")
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
    owner = d.get("OwnerId") or snap.account_of_file.get(item.file) or account
    if owner:
        out["account_id"] = str(owner)
    return out


def _subnet(item: Located) -> dict[str, Any]:
    d = item.data
    sid = required(item, d, "SubnetId")
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
        if isinstance(a, dict) and associated(a, "Ipv6CidrBlockState")
    ]
    return {
        "id": sid,
        "vpc_id": required(item, d, "VpcId"),
        "cidr_block": d["CidrBlock"],
        "ipv6_cidr_block": ipv6[0] if ipv6 else None,
        "availability_zone": required(item, d, "AvailabilityZone"),
        "availability_zone_id": d.get("AvailabilityZoneId"),
        "map_public_ip_on_launch": bool(d.get("MapPublicIpOnLaunch", False)),
        "name": name_tag(d),
    }


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


def _route_table(item: Located) -> tuple[dict[str, Any], dict[str, str]]:
    """The table, and the AWS name of each route's fields (which key held the target, the destination)."""
    d = item.data
    rid = required(item, d, "RouteTableId")
    assocs = [
        a for a in d.get("Associations") or () if isinstance(a, dict) and associated(a, "AssociationState")
    ]
    routes = [_route(item, rid, i, r) for i, r in enumerate(d.get("Routes") or ())]
    names: dict[str, str] = {}
    for i, r in enumerate(d.get("Routes") or ()):
        target_key = next(k for k in ROUTE_TARGET_KEYS if r.get(k))
        names[f"routes.{i}.target"] = f"Routes[{i}].{target_key}"
        dest_key = next(k for k in DESTINATION_KEYS if r.get(k))
        for field in ("destination", "destination_cidr", "destination_prefix_list_id"):
            names[f"routes.{i}.{field}"] = f"Routes[{i}].{dest_key}"
    data = {
        "id": rid,
        "vpc_id": required(item, d, "VpcId", rid),
        "main": any(bool(a.get("Main")) for a in assocs),
        "subnet_ids": [a["SubnetId"] for a in assocs if a.get("SubnetId")],
        "gateway_ids": [a["GatewayId"] for a in assocs if a.get("GatewayId")],
        "routes": routes,
        "name": name_tag(d),
    }
    return data, names


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
    destination = next((r[k] for k in DESTINATION_KEYS if r.get(k)), None)
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
    gid = required(item, d, "InternetGatewayId")
    # AWS prints State "available" for an attached internet gateway (the API reference lists "attached").
    attached = [
        a.get("VpcId")
        for a in d.get("Attachments") or ()
        if isinstance(a, dict) and a.get("State") in ("available", "attached")
    ]
    return {"id": gid, "vpc_id": attached[0] if attached else None, "name": name_tag(d)}


def _egress_only_gateway(item: Located) -> dict[str, Any] | None:
    d = item.data
    gid = required(item, d, "EgressOnlyInternetGatewayId")
    attached = [
        a.get("VpcId")
        for a in d.get("Attachments") or ()
        if isinstance(a, dict) and a.get("State") in ("attached", "available")
    ]
    return {"id": gid, "vpc_id": attached[0], "name": name_tag(d)} if attached else None


def _transit_gateways(out: Sections) -> None:
    vpcs_of: dict[str, set[str]] = defaultdict(set)
    for rt in out.sections.get("route_tables", []):
        for route in rt.get("routes", ()):
            if route["target"].startswith("tgw-"):
                vpcs_of[route["target"]].add(rt["vpc_id"])
    for tgw, vpcs in sorted(vpcs_of.items()):
        rt_file = next(
            out.origins[rt["id"]]
            for rt in out.sections["route_tables"]
            if any(r["target"] == tgw for r in rt.get("routes", ()))
        )
        out.add("transit_gateways", rt_file, {"id": tgw, "vpc_ids": sorted(vpcs)})


# --- Filters -------------------------------------------------------------------------------------


# --- Interfaces, instances, NAT gateways, endpoints ----------------------------------------------


# --- AWS side: prefix lists, peering -------------------------------------------------------------


def _prefix_lists(snap: Snapshot, out: Sections, regions: dict[str, str]) -> None:
    builtin = {p.id for p in builtin_prefix_lists()} | {p.prefix_list_name for p in builtin_prefix_lists()}
    fallback = next(iter(set(regions.values())), None) if len(set(regions.values())) == 1 else None
    for item in snap.of("prefix_lists"):
        d = item.data
        pid = required(item, d, "PrefixListId")
        name = str(d.get("PrefixListName") or pid)
        found = REGION_RE.search(name) or REGION_RE.search(str(d.get("PrefixListArn") or ""))
        region = (
            found.group(1)
            if found
            else snap.region_of_file.get(item.file) or fallback or environment_region()
        )
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


def _peerings(snap: Snapshot, out: Sections) -> None:
    for item in snap.of("peering_connections"):
        d = item.data
        pid = required(item, d, "VpcPeeringConnectionId")
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
        for i, route in enumerate(rt.get("routes", ())):
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


def _stub_vpc(item: Located, pid: str, side: str, info: dict[str, Any], out: Sections) -> None:
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
