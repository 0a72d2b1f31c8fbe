"""A folder of `aws ec2 describe-*` output (the AWS CLI's JSON) is a model: `load(path)`.

Each file is recognised by its top-level keys, never by its name, so the output of
`aws ec2 describe-vpcs > anything.json` works as well as the files `vpcflow import-aws` writes:

| top-level keys | command |
|---|---|
| `Vpcs` | `describe-vpcs` |
| `Subnets` | `describe-subnets` |
| `RouteTables` | `describe-route-tables` |
| `InternetGateways` | `describe-internet-gateways` |
| `EgressOnlyInternetGateways` | `describe-egress-only-internet-gateways` |
| `NatGateways` | `describe-nat-gateways` |
| `VpcEndpoints` | `describe-vpc-endpoints` |
| `SecurityGroups` | `describe-security-groups` |
| `NetworkAcls` | `describe-network-acls` |
| `NetworkInterfaces` | `describe-network-interfaces` |
| `Reservations` | `describe-instances` |
| `PrefixLists` | `describe-managed-prefix-lists` (or the older `describe-prefix-lists`, with `Cidrs`) |
| `Entries` | `get-managed-prefix-list-entries` (the list id from a `PrefixListId` key, else from a `pl-...` in the file name) |
| `VpcId` + `EnableDnsSupport` / `EnableDnsHostnames` | `describe-vpc-attribute` (one file per attribute, or both in one) |
| `VpcPeeringConnections` | `describe-vpc-peering-connections` (optional) |
| `RoleDetailList` | `aws iam get-account-authorization-details` (optional: the instance profiles' policies) |

Other JSON files (and other keys, such as `NextToken`) are ignored. Several files of one kind are
concatenated (pages, or one file per VPC); a resource listed twice must be listed identically.

The Region of each VPC comes from its subnets' Availability Zones, else from the Region the
folder's other resources name (AZs, ARNs, endpoint service names), else from the `region` argument
(the Batfish loader passes the one in the snapshot path), else from `AWS_REGION` /
`AWS_DEFAULT_REGION` (the Region the CLI that wrote the files used). The mapping of each resource is
in `describe_map`; errors name the file, the resource id and the AWS field.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vpcflow.errors import ModelError
from vpcflow.network.loaders.common import assemble
from vpcflow.network.store import Model

# top-level key -> snapshot section (the keys describe_map reads)
LIST_KEYS = {
    "Vpcs": "vpcs",
    "Subnets": "subnets",
    "RouteTables": "route_tables",
    "InternetGateways": "internet_gateways",
    "EgressOnlyInternetGateways": "egress_only_internet_gateways",
    "NatGateways": "nat_gateways",
    "VpcEndpoints": "vpc_endpoints",
    "SecurityGroups": "security_groups",
    "NetworkAcls": "network_acls",
    "NetworkInterfaces": "network_interfaces",
    "Reservations": "reservations",
    "PrefixLists": "prefix_lists",
    "VpcPeeringConnections": "peering_connections",
}
ATTRIBUTE_KEYS = {"EnableDnsSupport": "enable_dns_support", "EnableDnsHostnames": "enable_dns_hostnames"}
REGION_RE = re.compile(r"\b([a-z]{2}(?:-gov)?-[a-z]+-\d)")
PREFIX_LIST_IN_NAME = re.compile(r"\bpl-[0-9a-z]+")


@dataclass
class Located:
    """One item of describe output and the file it came from (for error messages)."""

    file: Path
    data: dict[str, Any]


@dataclass
class Snapshot:
    """Everything a set of describe files holds, by kind, before mapping to the model."""

    items: dict[str, list[Located]] = field(default_factory=dict)
    prefix_list_entries: dict[str, Located] = field(default_factory=dict)  # pl id -> {"Entries": [...]}
    vpc_attributes: dict[str, dict[str, bool]] = field(default_factory=dict)
    attribute_files: dict[str, Path] = field(default_factory=dict)
    iam: list[Located] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # Where the path says it (a Batfish snapshot): file -> Region / account of its resources.
    region_of_file: dict[Path, str] = field(default_factory=dict)
    account_of_file: dict[Path, str] = field(default_factory=dict)

    def of(self, kind: str) -> list[Located]:
        return self.items.get(kind, [])

    def merge(self, other: Snapshot) -> None:
        for kind, items in other.items.items():
            self.items.setdefault(kind, []).extend(items)
        self.prefix_list_entries.update(other.prefix_list_entries)
        self.vpc_attributes.update(other.vpc_attributes)
        self.attribute_files.update(other.attribute_files)
        self.iam.extend(other.iam)
        self.files.extend(other.files)
        self.region_of_file.update(other.region_of_file)
        self.account_of_file.update(other.account_of_file)


def recognised(data: object) -> bool:
    """Is this parsed JSON the output of one of the commands above?"""
    if not isinstance(data, dict):
        return False
    if any(key in data for key in LIST_KEYS) or "RoleDetailList" in data or "Entries" in data:
        return True
    return "VpcId" in data and any(key in data for key in ATTRIBUTE_KEYS)


def read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")  # PowerShell redirections write a BOM
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the file: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(
            f"{path}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno}); save the AWS CLI's output with --output json"
        ) from None


def json_files(path: Path) -> list[Path]:
    """The JSON files of a folder (not its subfolders), or the file itself."""
    if path.is_file():
        return [path] if path.suffix.lower() == ".json" else []
    return sorted(
        p
        for p in path.iterdir()
        if p.is_file() and p.suffix.lower() == ".json" and not p.name.startswith(".")
    )


def read_snapshot(
    files: Iterable[Path], *, region: str | None = None, account: str | None = None
) -> Snapshot:
    """The describe output in these files; `region` / `account`: what their location says (Batfish)."""
    snap = Snapshot()
    for path in files:
        data = read_json(path)
        if not recognised(data):
            continue
        snap.files.append(path)
        if region:
            snap.region_of_file[path] = region
        if account:
            snap.account_of_file[path] = account
        _add_file(snap, path, data)
    return snap


def _add_file(snap: Snapshot, path: Path, data: dict[str, Any]) -> None:
    for key, kind in LIST_KEYS.items():
        if key not in data:
            continue
        items = data[key]
        if not isinstance(items, list):
            raise ModelError(f"{path}: field {key!r}: expected a list, got {type(items).__name__}")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise ModelError(f"{path}: {key}[{i}]: expected an object, got {type(item).__name__}")
            if key == "Vpcs" and ("ClassicLinkEnabled" in item or "ClassicLinkDnsSupported" in item):
                continue  # describe-vpc-classic-link* output also has a top-level Vpcs key
            snap.items.setdefault(kind, []).append(Located(path, item))
    if "Entries" in data:
        pl_id = data.get("PrefixListId")
        if not pl_id:
            found = PREFIX_LIST_IN_NAME.search(path.name)
            pl_id = found.group(0) if found else None
        if not pl_id:
            raise ModelError(
                f"{path}: get-managed-prefix-list-entries output without a prefix list id: add a top-level "
                '"PrefixListId": "pl-..." key, or put the id in the file name (entries-pl-6da54004.json)'
            )
        if not isinstance(data["Entries"], list):
            raise ModelError(f"{path}: {pl_id}: field 'Entries': expected a list")
        snap.prefix_list_entries[str(pl_id)] = Located(path, data)
    if "VpcId" in data and any(key in data for key in ATTRIBUTE_KEYS):
        vpc_id = str(data["VpcId"])
        for key, name in ATTRIBUTE_KEYS.items():
            if key not in data:
                continue
            value = data[key].get("Value") if isinstance(data[key], dict) else None
            if not isinstance(value, bool):
                raise ModelError(
                    f'{path}: {vpc_id}: field {key!r}: expected {{"Value": true|false}}, got {data[key]!r}'
                )
            snap.vpc_attributes.setdefault(vpc_id, {})[name] = value
            snap.attribute_files[vpc_id] = path
    if "RoleDetailList" in data:
        snap.iam.append(Located(path, data))


def regions_named(snap: Snapshot) -> set[str]:
    """Regions the resources themselves name: AZs, ARNs, endpoint and prefix-list service names."""
    found: set[str] = set()
    for kind, key in (
        ("subnets", "AvailabilityZone"),
        ("network_interfaces", "AvailabilityZone"),
        ("subnets", "SubnetArn"),
        ("security_groups", "SecurityGroupArn"),
        ("vpc_endpoints", "ServiceName"),
    ):
        for item in snap.of(kind):
            match = REGION_RE.search(str(item.data.get(key) or ""))
            if match:
                found.add(match.group(1))
    return found


def environment_region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def accepts(path: Path) -> bool:
    """A .json file, or a folder holding at least one, that is describe output."""
    try:
        candidates = json_files(path)
    except OSError:
        return False
    for candidate in candidates:
        try:
            if recognised(read_json(candidate)):
                return True
        except ModelError:
            return True  # a broken JSON file in a JSON folder: let load() report it
    return False


def load(path: Path, *, region: str | None = None, account: str | None = None) -> Model:
    """The checked model of a folder (or file) of describe output."""
    from vpcflow.network.loaders.describe_map import to_sections

    snap = read_snapshot(json_files(Path(path)))
    if not snap.files:
        raise ModelError(f"{path}: no `aws ec2 describe-*` output found (files with Vpcs, Subnets, ... keys)")
    sections, origins = to_sections(snap, region=region, account=account)
    return assemble_located(sections, origins, str(path))


def assemble_located(
    sections: dict[str, list[dict]], origins: dict[str, tuple[Path, str]], source: str
) -> Model:
    """`assemble`, with validation errors pointed at the file and AWS field the resource came from."""
    from vpcflow.network.loaders.describe_fields import aws_field

    try:
        return assemble(sections, source)
    except ModelError as exc:
        rid, field = getattr(exc, "resource_id", None), getattr(exc, "field", None)
        origin = origins.get(str(rid)) if rid else None
        text = str(exc)
        if origin is None or not text.startswith(f"{source}: "):
            raise
        text = f"{origin[0]}: {text[len(source) + 2 :]}"
        if field:
            text = text.replace(f"field {field!r}", f"field {aws_field(origin[1], field, origin[2])!r}", 1)
        located = ModelError(text)
        located.resource_id = rid  # type: ignore[attr-defined]
        located.field = field  # type: ignore[attr-defined]
        raise located from None
