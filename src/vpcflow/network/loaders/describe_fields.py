"""Shared by the describe-* mappers: AWS field names for errors, the Name tag, and `Sections`.

Every resource is built once as it is mapped, with its file as the source, so a bad value is
reported with the file, the resource id and the AWS field it came from
(`CidrBlockAssociationSet[0]`, `Routes[2].DestinationCidrBlock`) rather than the model's name.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from vpcflow.errors import ModelError
from vpcflow.network.loaders.common import build
from vpcflow.network.loaders.describe import Located

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


# Fields inside a list item (a route, a rule): model name -> AWS name.
ITEM_FIELDS = {
    "destination_cidr": "DestinationCidrBlock",
    "destination_prefix_list_id": "DestinationPrefixListId",
    "destination": "DestinationPrefixListId",
    "cidr": "IpRanges[].CidrIp",
    "group_id": "UserIdGroupPairs[].GroupId",
    "prefix_list_id": "PrefixListIds[].PrefixListId",
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


def associated(item: dict[str, Any], state_key: str) -> bool:
    state = (item.get(state_key) or {}).get("State") if isinstance(item.get(state_key), dict) else None
    return state in (None, "associated", "associating")


def aws_field(kind: str, field: str, names: dict[str, str] | None = None) -> str:
    """'routes.2.destination_cidr' or 'routes[2].target' (section `kind`) -> 'Routes[2].DestinationCidrBlock'.

    `names` maps fields whose AWS name depends on the item (a route's target key) to that name."""
    parts = re.sub(r"\[(\d+)\]", r".\1", field).split(".")
    # pydantic adds the tags of union members to the location ('function-after[IPv4Network(), str]')
    clean = [p for p in itertools.takewhile(lambda p: re.fullmatch(r"[A-Za-z_]\w*|\d+", p), parts)]
    dotted = ".".join(clean)
    if names and dotted in names:
        return names[dotted]
    parts = clean or [field]
    out = AWS_FIELDS.get(kind, {}).get(parts[0], parts[0])
    for part in parts[1:]:
        out += f"[{part}]" if part.isdigit() else f".{ITEM_FIELDS.get(part, part)}"
    return out


class Sections:
    """Accumulates built resources; one id, one resource (identical repeats are dropped)."""

    def __init__(self) -> None:
        self.sections: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.origins: dict[str, Path] = {}
        self.kinds: dict[str, str] = {}
        self.names: dict[str, dict[str, str]] = {}
        self.seen: dict[str, dict[str, Any]] = {}

    def add(self, kind: str, file: Path, data: dict[str, Any], names: dict[str, str] | None = None) -> None:
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
                aws = aws_field(kind, field, names)
                raise fail(file, rid, aws, str(exc).split(f"field {field!r}: ", 1)[-1]) from None
            raise
        self.seen[rid] = data
        self.origins[rid] = file
        self.kinds[rid] = kind
        self.names[rid] = names or {}
        self.sections[kind].append(data)

    def has(self, rid: str) -> bool:
        return rid in self.seen


def required(item: Located, d: dict[str, Any], key: str, rid: str | None = None) -> str:
    value = d.get(key)
    if value in (None, ""):
        raise fail(item.file, rid or "(resource)", key, "missing", "keep the AWS CLI's output whole")
    return str(value)
