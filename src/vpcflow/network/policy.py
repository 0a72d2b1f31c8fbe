"""A small IAM policy evaluator for endpoint policies and instance-profile identity policies.

Spec vpc.md §3.2: a request through an endpoint must be allowed by the endpoint policy AND the
identity policy; an explicit Deny anywhere wins; no matching Allow is an implicit deny. The outcome
is an API error (S3 answers 403 AccessDenied), not a dropped packet.

Supported: Effect, Action/NotAction, Resource/NotResource (wildcards * and ?, case-insensitive
actions), Principal ("*", {"AWS": ...}), Condition with String*/Arn*/IpAddress/NotIpAddress/Bool
operators (and their IfExists forms). **Choice:** a condition operator outside that list makes
its statement not apply, and the decision says so.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import ip_address, ip_network
from typing import Any

# AWS's default endpoint policy (spec vpc.md §3.2).
FULL_ACCESS = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}

# The API call a reach query stands for, per service, when the caller does not name one:
# `aws s3 ls` (ListAllMyBuckets) or `aws s3 ls s3://bucket` (ListBucket), and a read-only list call.
DEFAULT_ACTIONS = {
    "s3": "s3:ListAllMyBuckets",
    "dynamodb": "dynamodb:ListTables",
    "sqs": "sqs:ListQueues",
    "sns": "sns:ListTopics",
    "kms": "kms:ListKeys",
    "sts": "sts:GetCallerIdentity",
    "ec2": "ec2:DescribeInstances",
    "logs": "logs:DescribeLogGroups",
    "secretsmanager": "secretsmanager:ListSecrets",
    "ssm": "ssm:DescribeInstanceInformation",
    "ecr.api": "ecr:DescribeRepositories",
    "lambda": "lambda:ListFunctions",
}


@dataclass(frozen=True)
class ApiRequest:
    action: str  # s3:ListBucket
    resource: str = "*"  # arn:aws:s3:::bucket
    principal_arn: str | None = None
    context: Mapping[str, str] = field(default_factory=dict)  # aws:sourceVpce, aws:SourceIp, ...


@dataclass(frozen=True)
class PolicyDecision:
    allowed: bool
    effect: str  # Allow | Deny (explicit) | ImplicitDeny
    statement: str  # which statement decided ("Sid" or index), or why nothing matched
    notes: tuple[str, ...] = ()


def default_request(service: str, bucket: str | None) -> ApiRequest:
    if service == "s3" and bucket:
        return ApiRequest("s3:ListBucket", f"arn:aws:s3:::{bucket}")
    return ApiRequest(DEFAULT_ACTIONS.get(service, f"{service.split('.')[0]}:List*"))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _glob(pattern: str, value: str, *, fold: bool) -> bool:
    if fold:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _matches_any(patterns: Iterable[str], value: str, *, fold: bool) -> bool:
    return any(_glob(str(p), value, fold=fold) for p in patterns)


def _principal_ok(stmt: Mapping[str, Any], request: ApiRequest) -> bool:
    if "Principal" not in stmt:
        return True  # identity policies have none
    principal = stmt["Principal"]
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        values = [str(v) for v in _as_list(principal.get("AWS"))]
        if "*" in values:
            return True
        arn = request.principal_arn or ""
        return any(v == arn or (v.isdigit() and f":{v}:root" in arn) for v in values)
    return False


_STRING_OPS = {"StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase"}
_ARN_OPS = {"ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"}


def _condition_ok(stmt: Mapping[str, Any], request: ApiRequest, notes: list[str]) -> bool:
    context = {k.lower(): v for k, v in request.context.items()}
    if request.principal_arn:
        context.setdefault("aws:principalarn", request.principal_arn)
    for op, block in (stmt.get("Condition") or {}).items():
        base = op.removesuffix("IfExists")
        for key, wanted in (block or {}).items():
            values = [str(v) for v in _as_list(wanted)]
            actual = context.get(key.lower())
            if actual is None:
                if op.endswith("IfExists") or "Not" in base:
                    continue  # an absent key satisfies negated and IfExists operators
                return False
            if base in ("StringEquals", "ArnEquals"):
                ok = actual in values
            elif base == "StringEqualsIgnoreCase":
                ok = actual.lower() in (v.lower() for v in values)
            elif base in ("StringLike", "ArnLike"):
                ok = _matches_any(values, actual, fold=False)
            elif base in ("StringNotEquals", "ArnNotEquals"):
                ok = actual not in values
            elif base in ("StringNotLike", "ArnNotLike"):
                ok = not _matches_any(values, actual, fold=False)
            elif base in ("IpAddress", "NotIpAddress"):
                inside = any(ip_address(actual) in ip_network(v, strict=False) for v in values)
                ok = inside if base == "IpAddress" else not inside
            elif base == "Bool":
                ok = actual.lower() in (v.lower() for v in values)
            else:
                notes.append(
                    f"condition operator {op} is not evaluated; the statement is treated as not applying"
                )
                return False
            if not ok:
                return False
    return True


def _statement_applies(stmt: Mapping[str, Any], request: ApiRequest, notes: list[str]) -> bool:
    if "Action" in stmt and not _matches_any(map(str, _as_list(stmt["Action"])), request.action, fold=True):
        return False
    if "NotAction" in stmt and _matches_any(map(str, _as_list(stmt["NotAction"])), request.action, fold=True):
        return False
    if "Resource" in stmt and not _matches_any(
        map(str, _as_list(stmt["Resource"])), request.resource, fold=False
    ):
        return False
    if "NotResource" in stmt and _matches_any(
        map(str, _as_list(stmt["NotResource"])), request.resource, fold=False
    ):
        return False
    return _principal_ok(stmt, request) and _condition_ok(stmt, request, notes)


def evaluate(policies: Iterable[Mapping[str, Any]], request: ApiRequest) -> PolicyDecision:
    """Evaluate policy documents together: explicit Deny > Allow > implicit deny."""
    notes: list[str] = []
    allow: str | None = None
    for p, policy in enumerate(policies):
        for s, stmt in enumerate(_as_list(policy.get("Statement"))):
            if not isinstance(stmt, Mapping) or not _statement_applies(stmt, request, notes):
                continue
            label = str(stmt.get("Sid") or f"policy {p + 1} statement {s + 1}")
            if str(stmt.get("Effect", "")).lower() == "deny":
                return PolicyDecision(False, "Deny", label, tuple(notes))
            allow = allow or label
    if allow:
        return PolicyDecision(True, "Allow", allow, tuple(notes))
    return PolicyDecision(
        False, "ImplicitDeny", f"no statement allows {request.action} on {request.resource}", tuple(notes)
    )
