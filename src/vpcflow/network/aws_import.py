"""`vpcflow import-aws`: a Region's VPCs, read with the EC2 describe APIs, as a folder of describe JSON.

    result = import_aws(AwsSettings(region="eu-west-1"), "model/", vpc_ids=["vpc-0abc"])
    model = vpcflow.network.load_model("model/")

One file per call, holding exactly what `aws ec2 <command> --output json` prints: boto3's paginator
merges the pages the way the AWS CLI does (`build_full_result`: lists concatenated, NextToken
dropped), ResponseMetadata is left out, and timestamps are ISO 8601 strings in UTC. The loader
(`vpcflow.network.loaders.describe`) recognises each file by its top-level keys, so the names are for
people: `describe-vpcs.json`, ..., `get-managed-prefix-list-entries-<pl-id>.json` (with a
`PrefixListId` key added, since the CLI's output does not say which list it is), and
`describe-vpc-attribute-<vpc-id>-<attribute>.json`.

With `vpc_ids`, calls whose API can filter by VPC do so (`vpc-id`, `attachment.vpc-id`, the peering
connection's requester or accepter VPC); egress-only internet gateways are filtered here by their
attachments (their API has no such filter); managed prefix lists are all kept (routes and rules of
the chosen VPCs can name any of them).

Every call must succeed, except two that add optional detail (describe-egress-only-internet-gateways
and describe-vpc-peering-connections): when one of those is refused, the import goes on without its
file and says so. The files are written to a temporary folder and moved into place at the end, after
the previous import's files are removed, so the folder never mixes two imports.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from vpcflow.aws_session import AwsSettings, aws_errors, describe_error, error_code
from vpcflow.errors import InputError

FILTER_VALUES = 200  # values per EC2 filter: AWS's limit (documented per API as "up to 200")
WORKERS = 8
# The files an import owns in its folder: removed before a new import's files move in.
OWNED_PATTERNS = ("describe-*.json", "get-managed-prefix-list-entries-*.json")
# Calls that only add detail: when refused, the import goes on without their file.
OPTIONAL = {"describe-egress-only-internet-gateways", "describe-vpc-peering-connections"}


@dataclass(frozen=True)
class Call:
    """One describe call: its CLI name, boto3 operation, result key, and how it filters by VPC."""

    name: str
    operation: str
    key: str
    vpc_filter: str | None = None  # the EC2 filter name that selects a VPC's resources
    filter_param: str = "Filters"  # DescribeNatGateways calls it `Filter`


CALLS = (
    Call("describe-subnets", "describe_subnets", "Subnets", "vpc-id"),
    Call("describe-route-tables", "describe_route_tables", "RouteTables", "vpc-id"),
    Call("describe-internet-gateways", "describe_internet_gateways", "InternetGateways", "attachment.vpc-id"),
    Call(
        "describe-egress-only-internet-gateways",
        "describe_egress_only_internet_gateways",
        "EgressOnlyInternetGateways",
    ),
    Call("describe-nat-gateways", "describe_nat_gateways", "NatGateways", "vpc-id", "Filter"),
    Call("describe-vpc-endpoints", "describe_vpc_endpoints", "VpcEndpoints", "vpc-id"),
    Call("describe-security-groups", "describe_security_groups", "SecurityGroups", "vpc-id"),
    Call("describe-network-acls", "describe_network_acls", "NetworkAcls", "vpc-id"),
    Call("describe-network-interfaces", "describe_network_interfaces", "NetworkInterfaces", "vpc-id"),
    Call("describe-instances", "describe_instances", "Reservations", "vpc-id"),
    Call("describe-managed-prefix-lists", "describe_managed_prefix_lists", "PrefixLists"),
)
DNS_ATTRIBUTES = ("enableDnsSupport", "enableDnsHostnames")


@dataclass
class ImportResult:
    out: Path
    region: str
    counts: dict[str, int] = field(default_factory=dict)  # file name (no .json) -> items in it
    warnings: list[str] = field(default_factory=list)


def import_aws(
    settings: AwsSettings | None = None,
    out: str | Path = ".",
    *,
    vpc_ids: list[str] | None = None,
    client=None,
    workers: int = WORKERS,
) -> ImportResult:
    """Describe the Region's VPCs (or only `vpc_ids`) and write the describe JSON folder `out`."""
    settings = settings or AwsSettings()
    ec2 = client or settings.client("ec2", connections=workers)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = ImportResult(out, ec2.meta.region_name)
    wanted = sorted(set(vpc_ids)) if vpc_ids else None
    files: dict[str, dict] = {}

    vpcs = _describe_vpcs(ec2, settings, wanted)
    files["describe-vpcs"] = vpcs
    ids = [v["VpcId"] for v in vpcs["Vpcs"]]
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="vpcflow-ec2") as pool:
        jobs: dict[str, Callable[[], dict | None]] = {
            call.name: (lambda call=call: _describe(ec2, settings, call, wanted, result)) for call in CALLS
        }
        jobs["describe-vpc-peering-connections"] = lambda: _peerings(ec2, settings, wanted, result)
        for vid in ids:
            for attribute in DNS_ATTRIBUTES:
                jobs[f"describe-vpc-attribute-{vid}-{attribute}"] = lambda vid=vid, attribute=attribute: (
                    _attribute(ec2, settings, vid, attribute)
                )
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        for name, future in futures.items():
            data = future.result()
            if data is not None:
                files[name] = data
        lists = [p["PrefixListId"] for p in files["describe-managed-prefix-lists"]["PrefixLists"]]
        entries = {pid: pool.submit(_entries, ec2, settings, pid) for pid in lists}
        for pid, future in entries.items():
            files[f"get-managed-prefix-list-entries-{pid}"] = future.result()

    _write(out, files)
    result.counts = {name: _count(data) for name, data in files.items()}
    return result


# -- the calls -----------------------------------------------------------------------------------


def _full(ec2, settings: AwsSettings, name: str, operation: str, **params) -> dict:
    """One call's whole result as the AWS CLI prints it: every page merged, no ResponseMetadata."""
    try:
        if ec2.can_paginate(operation):
            data = ec2.get_paginator(operation).paginate(**params).build_full_result()
        else:
            data = getattr(ec2, operation)(**params)
    except aws_errors() as exc:
        raise _refused(settings, name, exc) from None
    data.pop("ResponseMetadata", None)
    data.pop("NextToken", None)
    return data


def _describe_vpcs(ec2, settings: AwsSettings, wanted: list[str] | None) -> dict:
    if not wanted:
        return _full(ec2, settings, "describe-vpcs", "describe_vpcs")
    vpcs: list[dict] = []
    for chunk in _chunks(wanted):
        vpcs += _full(ec2, settings, "describe-vpcs", "describe_vpcs", VpcIds=chunk)["Vpcs"]
    return {"Vpcs": vpcs}


def _describe(
    ec2, settings: AwsSettings, call: Call, wanted: list[str] | None, result: ImportResult
) -> dict | None:
    try:
        if not wanted or call.vpc_filter is None:
            data = _full(ec2, settings, call.name, call.operation)
        else:
            items: list[dict] = []
            for chunk in _chunks(wanted):
                params = {call.filter_param: [{"Name": call.vpc_filter, "Values": chunk}]}
                items += _full(ec2, settings, call.name, call.operation, **params)[call.key]
            data = {call.key: items}
    except InputError as exc:
        if call.name in OPTIONAL:
            result.warnings.append(f"{call.name}: skipped ({exc})")
            return None
        raise
    if wanted and call.key == "EgressOnlyInternetGateways":
        keep = set(wanted)
        data[call.key] = [
            g for g in data[call.key] if any(a.get("VpcId") in keep for a in g.get("Attachments") or ())
        ]
    return data


def _peerings(ec2, settings: AwsSettings, wanted: list[str] | None, result: ImportResult) -> dict | None:
    name, operation = "describe-vpc-peering-connections", "describe_vpc_peering_connections"
    try:
        if not wanted:
            return _full(ec2, settings, name, operation)
        found: dict[str, dict] = {}
        for side in ("requester-vpc-info.vpc-id", "accepter-vpc-info.vpc-id"):
            for chunk in _chunks(wanted):
                page = _full(ec2, settings, name, operation, Filters=[{"Name": side, "Values": chunk}])
                for pcx in page["VpcPeeringConnections"]:
                    found.setdefault(pcx["VpcPeeringConnectionId"], pcx)
        return {"VpcPeeringConnections": list(found.values())}
    except InputError as exc:
        result.warnings.append(f"{name}: skipped ({exc})")
        return None


def _attribute(ec2, settings: AwsSettings, vpc_id: str, attribute: str) -> dict:
    try:
        data = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)
    except aws_errors() as exc:
        raise _refused(settings, "describe-vpc-attribute", exc, vpc_id) from None
    data.pop("ResponseMetadata", None)
    return data


def _entries(ec2, settings: AwsSettings, prefix_list_id: str) -> dict:
    data = _full(
        ec2, settings, "get-managed-prefix-list-entries", "get_managed_prefix_list_entries",
        PrefixListId=prefix_list_id,
    )  # fmt: skip
    return {"PrefixListId": prefix_list_id, **data}


def _refused(settings: AwsSettings, name: str, exc: BaseException, resource: str | None = None) -> InputError:
    code = error_code(exc)
    action = "ec2:" + "".join(word.title() for word in name.split("-")) if name else ""
    hint = ""
    if code in ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException"):
        hint = f"; the credentials need {action}"
    elif code and code.startswith("InvalidVpcID"):
        hint = "; check the --vpc-id values (`aws ec2 describe-vpcs` lists the Region's VPCs)"
    what = f"{name} {resource}" if resource else name
    return InputError(f"{what} failed: {settings.redact(describe_error(exc))}{hint}", source="import-aws")


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + FILTER_VALUES] for i in range(0, len(values), FILTER_VALUES)]


# -- the files -----------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    """What the AWS CLI prints for values JSON lacks: timestamps in ISO 8601 (UTC), bytes as text."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _write(out: Path, files: dict[str, dict]) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".import-aws-", dir=out))
    try:
        for name, data in files.items():
            text = json.dumps(data, indent=4, ensure_ascii=False, default=_json_value)
            (staging / f"{name}.json").write_text(text + "\n", encoding="utf-8")
        for pattern in OWNED_PATTERNS:
            for old in out.glob(pattern):
                old.unlink()
        for new in staging.iterdir():
            new.replace(out / new.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _count(data: dict) -> int:
    lists = [v for v in data.values() if isinstance(v, list)]
    return len(lists[0]) if lists else 1
