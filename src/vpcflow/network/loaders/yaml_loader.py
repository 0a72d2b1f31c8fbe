"""The YAML model format (docs/model.md): the `Model` sections, plus shorthands for hand-writing.

Shorthands, expanded here before the resources are built (the describe-JSON loader never needs
them, AWS output is already explicit):

- an instance may carry its primary interface inline (`subnet_id`, `private_ip`, `public_ip`,
  `security_group_ids`, ...) instead of `network_interface_ids`; the ENI `eni-<instance suffix>`
  is created;
- a NAT gateway without `network_interface_id` gets `eni-<nat suffix>` (its requester-managed
  interface, which carries the Elastic IP as AWS shows it);
- an interface endpoint may list `network_interfaces: [{subnet_id, private_ip}]`;
- a VPC without a main route table, default network ACL or default security group gets AWS's
  defaults (local routes only; allow-all rule 100 (and 101 for IPv6); the `default` group);
- ENIs of instances and interface endpoints with no security group get the VPC's default group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from vpcflow.errors import ModelError
from vpcflow.network.loaders.common import assemble
from vpcflow.network.store import Model

_INLINE_ENI_KEYS = (
    "subnet_id",
    "private_ip",
    "secondary_private_ips",
    "ipv6_addresses",
    "public_ip",
    "elastic_ip_allocation_id",
    "security_group_ids",
    "source_dest_check",
)


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ModelError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ModelError(f"{path}: a model file is a mapping of sections (vpcs:, subnets:, ...)")
    return data


def load_yaml(paths: Path | list[Path], *, aws_defaults: bool = True) -> Model:
    """One model from one YAML file or several (their sections are concatenated)."""
    files = [paths] if isinstance(paths, Path) else list(paths)
    sections: dict[str, list[Any]] = {}
    for path in files:
        for kind, items in read_sections(path).items():
            sections.setdefault(kind, []).extend(items)
    source = str(files[0]) if len(files) == 1 else str(files[0].parent)
    return assemble(expand_shorthands(sections), source, aws_defaults=aws_defaults)


def read_sections(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, list[Any]]:
    """The sections of one file, with `extends:` (a base file) and `remove:` (ids) applied.

    An overlay replaces base resources that have the same id and appends the others, so a lab
    step is written as the few resources it changes.
    """
    data = read_yaml(path)
    base_name = data.pop("extends", None)
    removed = set(data.pop("remove", None) or ())
    sections: dict[str, list[Any]] = {}
    if base_name is not None:
        base = (path.parent / str(base_name)).resolve()
        if base in _seen:
            raise ModelError(f"{path}: `extends: {base_name}` forms a cycle")
        sections = read_sections(base, (*_seen, path.resolve()))
    for kind, items in data.items():
        if items is None:
            continue
        if not isinstance(items, list):
            raise ModelError(f"{path}: section {kind!r} must be a list of resources")
        merged = sections.setdefault(kind, [])
        for item in items:
            rid = item.get("id") if isinstance(item, dict) else None
            slot = next(
                (i for i, old in enumerate(merged) if isinstance(old, dict) and rid and old.get("id") == rid),
                None,
            )
            if slot is None:
                merged.append(item)
            else:
                merged[slot] = item
    if removed:
        known = {x.get("id") for items in sections.values() for x in items if isinstance(x, dict)}
        missing = sorted(removed - known)
        if missing:
            raise ModelError(f"{path}: remove: {missing[0]} is not in the model it extends")
        sections = {
            k: [x for x in v if not (isinstance(x, dict) and x.get("id") in removed)]
            for k, v in sections.items()
        }
    return sections


def _suffix(resource_id: str) -> str:
    return resource_id.split("-", 1)[1]


def expand_shorthands(sections: dict[str, list[Any]]) -> dict[str, list[Any]]:
    out = {k: [dict(x) if isinstance(x, dict) else x for x in v] for k, v in sections.items()}
    enis = out.setdefault("network_interfaces", [])
    eni_ids = {e.get("id") for e in enis if isinstance(e, dict)}
    defaults = _vpc_defaults(out)
    subnet_vpc = {s.get("id"): s.get("vpc_id") for s in out.get("subnets", []) if isinstance(s, dict)}

    for inst in out.get("instances", []):
        if not isinstance(inst, dict) or "network_interface_ids" in inst or "subnet_id" not in inst:
            continue
        eni = {k: inst.pop(k) for k in _INLINE_ENI_KEYS if k in inst}
        eni_id = inst.pop("network_interface_id", None) or f"eni-{_suffix(str(inst.get('id', 'x-unnamed')))}"
        eni.update(id=eni_id, instance_id=inst.get("id"), interface_type="interface")
        if not eni.get("security_group_ids"):
            eni["security_group_ids"] = [defaults.get(subnet_vpc.get(eni["subnet_id"]))]
        eni["security_group_ids"] = [g for g in eni["security_group_ids"] if g]
        inst["network_interface_ids"] = [eni_id]
        if "identity_policy" in inst:
            inst["identity_policies"] = [inst.pop("identity_policy")]
        enis.append(eni)
        eni_ids.add(eni_id)

    for nat in out.get("nat_gateways", []):
        if not isinstance(nat, dict):
            continue
        nat.setdefault("network_interface_id", f"eni-{_suffix(str(nat.get('id', 'x-unnamed')))}")
        if nat["network_interface_id"] not in eni_ids and "private_ip" in nat:
            enis.append(
                {
                    "id": nat["network_interface_id"],
                    "subnet_id": nat.get("subnet_id"),
                    "private_ip": nat["private_ip"],
                    "public_ip": nat.get("public_ip"),
                    "interface_type": "nat_gateway",
                    "requester_managed": True,
                    "description": f"Interface for NAT Gateway {nat.get('id')}",
                }
            )
            eni_ids.add(nat["network_interface_id"])

    for ep in out.get("vpc_endpoints", []):
        if not isinstance(ep, dict) or "network_interfaces" not in ep:
            continue
        groups = ep.get("security_group_ids") or [g for g in [defaults.get(ep.get("vpc_id"))] if g]
        ep["security_group_ids"] = groups
        for i, spec in enumerate(ep.pop("network_interfaces") or []):
            eni = dict(spec)
            eni.setdefault("id", f"eni-{_suffix(str(ep.get('id', 'x-unnamed')))}-{i + 1}")
            eni.update(interface_type="vpc_endpoint", requester_managed=True, security_group_ids=groups)
            eni.setdefault("description", f"VPC Endpoint Interface {ep.get('id')}")
            enis.append(eni)
            ep.setdefault("network_interface_ids", []).append(eni["id"])
            if eni.get("subnet_id") not in ep.setdefault("subnet_ids", []):
                ep["subnet_ids"].append(eni.get("subnet_id"))
    return out


def _vpc_defaults(out: dict[str, list[Any]]) -> dict[str, str]:
    """Add AWS's per-VPC defaults the file leaves out; returns vpc id -> default security group id."""
    default_sg: dict[str, str] = {}
    for sg in out.get("security_groups", []):
        if isinstance(sg, dict) and sg.get("group_name") == "default":
            default_sg[sg.get("vpc_id")] = sg.get("id")
    for vpc in out.get("vpcs", []):
        if not isinstance(vpc, dict) or "id" not in vpc:
            continue
        vid, tag = vpc["id"], _suffix(str(vpc["id"]))
        has_v6 = bool(vpc.get("ipv6_cidr_blocks"))
        if not any(
            isinstance(r, dict) and r.get("vpc_id") == vid and r.get("main")
            for r in out.get("route_tables", [])
        ):
            out.setdefault("route_tables", []).append({"id": f"rtb-{tag}-main", "vpc_id": vid, "main": True})
        if not any(
            isinstance(a, dict) and a.get("vpc_id") == vid and a.get("is_default")
            for a in out.get("network_acls", [])
        ):
            rules = [{"rule_number": 100, "protocol": "all", "action": "allow", "cidr": "0.0.0.0/0"}]
            if has_v6:
                rules.append({"rule_number": 101, "protocol": "all", "action": "allow", "cidr": "::/0"})
            out.setdefault("network_acls", []).append(
                {
                    "id": f"acl-{tag}-default",
                    "vpc_id": vid,
                    "is_default": True,
                    "inbound": rules,
                    "outbound": rules,
                }
            )
        if vid not in default_sg:
            sg_id = f"sg-{tag}-default"
            egress = [{"protocol": "all", "cidr": "0.0.0.0/0"}] + (
                [{"protocol": "all", "cidr": "::/0"}] if has_v6 else []
            )
            out.setdefault("security_groups", []).append(
                {
                    "id": sg_id,
                    "vpc_id": vid,
                    "group_name": "default",
                    "ingress": [{"protocol": "all", "group_id": sg_id}],
                    "egress": egress,
                }
            )
            default_sg[vid] = sg_id
    return default_sg
