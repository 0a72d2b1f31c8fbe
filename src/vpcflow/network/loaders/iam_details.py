"""Instance profile -> identity policies, from `aws iam get-account-authorization-details` output.

The EC2 describe output names an instance's profile (`IamInstanceProfile.Arn`) but not what its
role may do; that is in IAM. `RoleDetailList[].InstanceProfileList[].Arn` ties a profile to its
role; the role's policies are its inline `RolePolicyList[].PolicyDocument` and its
`AttachedManagedPolicies`, whose documents are the default version in `Policies[]`
(`PolicyVersionList[]` with `IsDefaultVersion`). The AWS CLI prints policy documents as JSON
objects; the raw API sends them URL-encoded, which is accepted too.

**Choice:** a document that is not in the output (an AWS managed policy when the command ran
without `--filter AWSManagedPolicy`, or a profile that is not listed) is replaced by
UNKNOWN_IDENTITY, which allows every call: vpcflow cannot refuse what it cannot see.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from vpcflow.errors import ModelError

UNKNOWN_IDENTITY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "VpcflowIdentityNotImported", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def _document(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        for text in (value, unquote(value)):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(parsed, dict):
                return parsed
    raise ModelError(f"{where}: not an IAM policy document")


def profile_policies(documents: list) -> dict[str, list[dict[str, Any]]]:
    """Instance profile ARN -> the policy documents of its role, over every authorization-details file."""
    managed: dict[str, dict[str, Any]] = {}
    for located in documents:
        for i, policy in enumerate(located.data.get("Policies") or ()):
            versions = [v for v in policy.get("PolicyVersionList") or () if isinstance(v, dict)]
            default = next((v for v in versions if v.get("IsDefaultVersion")), None)
            if default is not None and policy.get("Arn"):
                managed[policy["Arn"]] = _document(
                    default.get("Document"),
                    f"{located.file}: {policy.get('Arn')}: field 'Policies[{i}].PolicyVersionList'",
                )
    out: dict[str, list[dict[str, Any]]] = {}
    for located in documents:
        for i, role in enumerate(located.data.get("RoleDetailList") or ()):
            where = f"{located.file}: {role.get('Arn') or role.get('RoleName')}: field 'RoleDetailList[{i}]"
            policies = [
                _document(p.get("PolicyDocument"), f"{where}.RolePolicyList'")
                for p in role.get("RolePolicyList") or ()
                if isinstance(p, dict)
            ]
            for attached in role.get("AttachedManagedPolicies") or ():
                policies.append(managed.get(attached.get("PolicyArn"), UNKNOWN_IDENTITY))
            for profile in role.get("InstanceProfileList") or ():
                if isinstance(profile, dict) and profile.get("Arn"):
                    out[profile["Arn"]] = policies
    return out
