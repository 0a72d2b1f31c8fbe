"""describe-security-groups and describe-network-acls -> the model.

One AWS permission (`IpPermissions[]`: a protocol, a port range and several peers) becomes one model
rule per peer. NACL rule 32767 (AWS's `*`) is implicit in the model and left out.
"""

from __future__ import annotations

from typing import Any

from vpcflow.network.loaders.describe import Located
from vpcflow.network.loaders.describe_fields import fail, name_tag, required


def security_group(item: Located, known_groups: set[str]) -> dict[str, Any]:
    d = item.data
    gid = required(item, d, "GroupId")
    vpc_id = required(item, d, "VpcId", gid)
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


def network_acl(item: Located) -> dict[str, Any]:
    d = item.data
    aid = required(item, d, "NetworkAclId")
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
        "vpc_id": required(item, d, "VpcId", aid),
        "is_default": bool(d.get("IsDefault", False)),
        "subnet_ids": [
            a["SubnetId"] for a in d.get("Associations") or () if isinstance(a, dict) and a.get("SubnetId")
        ],
        "inbound": inbound,
        "outbound": outbound,
        "name": name_tag(d),
    }
