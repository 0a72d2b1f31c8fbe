"""describe-network-interfaces, describe-instances, describe-nat-gateways, describe-vpc-endpoints -> the model.

Interfaces come from describe-network-interfaces, and from the `NetworkInterfaces` of
describe-instances for those it does not list; a NAT gateway whose interface is in neither gets one
built from its NatGatewayAddresses; an interface attached to an instance that describe-instances
does not list gets a running instance (the attachment says the instance exists).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from vpcflow.network.loaders.describe import Located, Snapshot
from vpcflow.network.loaders.describe_fields import Sections, fail, name_tag, required
from vpcflow.network.loaders.iam_details import UNKNOWN_IDENTITY, profile_policies

ENDPOINT_STATES = {
    "pendingacceptance": "pendingAcceptance",
    "partial": "available",  # usable in the subnets whose interfaces exist
}


def interface(file: Path, d: dict[str, Any], instance_id: str | None = None) -> dict[str, Any]:
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


def instances(snap: Snapshot, out: Sections) -> None:
    policies = profile_policies(snap.iam)
    described: set[str] = set()
    for item in snap.of("reservations"):
        for j, inst in enumerate(item.data.get("Instances") or ()):
            if not isinstance(inst, dict):
                raise fail(item.file, "(reservation)", f"Instances[{j}]", "expected an object")
            iid = required(item, inst, "InstanceId")
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
                    out.add("network_interfaces", item.file, interface(item.file, nic, iid))
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


def nat_gateway(item: Located, out: Sections) -> None:
    d = item.data
    nid = required(item, d, "NatGatewayId")
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
    subnet_id = required(item, d, "SubnetId", nid)
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


def endpoint(item: Located) -> dict[str, Any] | None:

    d = item.data
    eid = required(item, d, "VpcEndpointId")
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
        "vpc_id": required(item, d, "VpcId", eid),
        "vpc_endpoint_type": kind,
        "service_name": required(item, d, "ServiceName", eid),
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
