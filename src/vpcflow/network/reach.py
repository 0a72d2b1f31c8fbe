"""Reachability: `evaluate_flow` (per-ENI verdicts for one flow) and `reach` (the explained answer).

evaluate_flow(model, src, dst_ip, protocol, dst_port, src_port=None) -> FlowVerdict
    src: an instance id, ENI id, NetworkInterface, or an address (an address outside the model
    is an internet host). dst_ip: an address. The verdict lists every interface the request and
    the response cross, with ACCEPT/REJECT, the deciding rule and the addresses a flow log
    would show there (flows.py). Memoised per model: route lookups, SG and NACL verdicts.

reach(model, src, dst, protocol="tcp", port=None, region=None) -> Trace
    dst may also be a host name or `service:<name>`; names resolve through the source VPC's DNS.
"""

from __future__ import annotations

import re
import zlib
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from vpcflow.errors import ModelError
from vpcflow.network.dns import DEFAULT_CLI_REGION, Resolution, resolve
from vpcflow.network.engine import FlowWalk
from vpcflow.network.flows import EniObservation, FlowVerdict
from vpcflow.network.model import Instance, NetworkInterface, Vpc, protocol_number
from vpcflow.network.policy import FULL_ACCESS, ApiRequest, PolicyDecision, default_request, evaluate
from vpcflow.network.store import Model
from vpcflow.network.trace import Explanation, Outcome, Query, Trace
from vpcflow.network.walk import ICMP, ICMPV6, Pkt, Stop

Address = IPv4Address | IPv6Address
LINUX_EPHEMERAL = (32768, 60999)  # Amazon Linux's range (spec vpc.md §6)

__all__ = [
    "EniObservation",
    "FlowVerdict",
    "default_source_port",
    "evaluate_flow",
    "reach",
    "source_interface",
]


def default_source_port(src: Address, dst: Address, dst_port: int | None, protocol: int) -> int:
    """**Choice:** a stable port in the Linux ephemeral range, derived from the flow."""
    low, high = LINUX_EPHEMERAL
    return low + zlib.crc32(f"{src}>{dst}:{dst_port}/{protocol}".encode()) % (high - low + 1)


def source_interface(model: Model, src: str | NetworkInterface) -> tuple[NetworkInterface | None, Address]:
    """(ENI, source address) for an instance id, ENI id or address; (None, address) for the internet."""
    if isinstance(src, NetworkInterface):
        return src, src.private_ip
    text = str(src).strip()
    if text.startswith("i-"):
        enis = model.interfaces_of_instance(model.get(text, Instance).id)
        if not enis:
            raise ModelError(f"{model.source or '<model>'}: instance {text} has no network interface")
        return enis[0], enis[0].private_ip
    if text.startswith("eni-"):
        eni = model.get(text, NetworkInterface)
        return eni, eni.private_ip
    try:
        addr = ip_address(text)
    except ValueError:
        raise ModelError(
            f"source {text!r} is not an instance id (i-...), an ENI id (eni-...) or an IP address"
        ) from None
    eni = model.interface_for_ip(addr)
    if eni is not None:
        return eni, addr
    public = model.interface_for_public_ip(addr)
    if public is not None:
        return public, public.private_ip
    return None, addr


def evaluate_flow(
    model: Model,
    src: str | NetworkInterface,
    dst_ip: str | Address,
    protocol: str | int = "tcp",
    dst_port: int | None = 443,
    src_port: int | None = None,
    *,
    api: ApiRequest | None = None,
    bucket: str | None = None,
) -> FlowVerdict:
    """Walk one flow (request, then response) and report every interface's view of it.

    For ICMP, `dst_port` is the ICMP type (8 = echo request; the reply is type 0). When the flow
    ends at an AWS service, the API call `api` (default: a list call for that service, or
    s3:ListBucket on `bucket`) is checked against the endpoint and identity policies.
    """
    proto = protocol_number(protocol)
    eni, src_addr = source_interface(model, src)
    dst = dst_ip if isinstance(dst_ip, IPv4Address | IPv6Address) else ip_address(str(dst_ip))
    if proto in (ICMP, ICMPV6):
        sport, dport = None, 8 if dst_port is None else dst_port
    elif proto in (6, 17):
        dport = dst_port
        sport = src_port if src_port is not None else default_source_port(src_addr, dst, dst_port, proto)
    else:
        sport = dport = None
    pkt = Pkt(src_addr, dst, proto, sport, dport)
    walk = FlowWalk(model)
    stop: Stop | None = None
    delivered = False
    try:
        if eni is not None:
            walk.from_eni(eni, pkt)
        else:
            walk.from_internet(pkt)
        delivered = True
        walk.run_return()
    except Stop as exc:
        stop = exc
    explanations = []
    if stop is not None:
        code, component, detail, fix = stop.explanation
        explanations.append(
            Explanation(code=code, component=component, direction=walk.direction, detail=detail, fix=fix)
        )
    decision = None
    if stop is None:
        outcome, reachable = Outcome.reachable, True
        if walk.service is not None:
            decision, exp = _policies(model, walk, eni, api, bucket)
            if exp is not None:
                explanations.append(exp)
                outcome = Outcome.access_denied
    else:
        outcome, reachable = (Outcome.unknown if stop.unknown else Outcome.timed_out), False
    return FlowVerdict(
        reachable=reachable,
        outcome=outcome,
        observations=tuple(walk.observations),
        path=tuple(walk.hops),
        explanations=tuple(explanations),
        policy=decision,
        delivered=delivered,
        notes=tuple(walk.notes),
    )


def _role_arn(profile_arn: str) -> str:
    # **Choice:** the role is taken to have the instance profile's name (the console's default).
    return re.sub(r":instance-profile/(?:.*/)?", ":role/", profile_arn)


def _policies(
    model: Model, walk: FlowWalk, eni: NetworkInterface | None, api: ApiRequest | None, bucket: str | None
) -> tuple[PolicyDecision | None, Explanation | None]:
    svc, endpoint = walk.service, walk.service_endpoint
    assert svc is not None
    request = api or default_request(svc.service, bucket)
    instance = model.instance_of(eni) if eni is not None else None
    context: dict[str, str] = {}
    first = walk.chain[0]
    if endpoint is not None:
        context.update(
            {
                "aws:sourceVpce": endpoint.id,
                "aws:sourceVpc": endpoint.vpc_id,
                "aws:VpcSourceIp": str(first.pkt_out.src if first.pkt_out else ""),
            }
        )
    else:
        seen = walk.chain[-1].pkt_in
        if seen is not None:
            context["aws:SourceIp"] = str(seen.src)
    principal = (
        _role_arn(instance.iam_instance_profile_arn)
        if instance and instance.iam_instance_profile_arn
        else None
    )
    if principal:
        context["aws:PrincipalArn"] = principal
    request = ApiRequest(request.action, request.resource, principal, {**context, **request.context})
    if endpoint is not None:
        decision = evaluate([endpoint.policy or FULL_ACCESS], request)
        if not decision.allowed:
            return decision, Explanation(
                code="VPCE_POLICY_DENY",
                component=endpoint.id,
                direction="policy",
                detail=f"the endpoint policy of {endpoint.id} refuses {request.action} on {request.resource} ({decision.effect}: {decision.statement}); the network path works, {svc.service} answers AccessDenied",
                fix=f"allow {request.action} on {request.resource} in the policy of {endpoint.id}",
            )
    if request.action.lower() == "sts:getcalleridentity":
        # AWS: "No permissions are required to perform this operation", even under an explicit deny.
        return None, None
    if instance is None or not instance.iam_instance_profile_arn:
        walk.notes.append("identity policy not evaluated: the source has no instance profile")
        return None, None
    decision = evaluate(instance.identity_policies, request)
    if not decision.allowed:
        return decision, Explanation(
            code="IDENTITY_POLICY_DENY",
            component=instance.iam_instance_profile_arn,
            direction="policy",
            detail=f"the role of {instance.id} may not call {request.action} on {request.resource} ({decision.effect}: {decision.statement}); the network path works, {svc.service} answers AccessDenied",
            fix=f"allow {request.action} on {request.resource} in the role's identity policy",
        )
    return decision, None


_OUTSIDE_VPC = {
    "id": "vpc-outside",
    "cidr_blocks": ["0.0.0.0/32"],
    "enable_dns_support": True,
    "enable_dns_hostnames": False,
}


def _destination(
    model: Model, src_eni: NetworkInterface | None, dst: str, region: str | None
) -> tuple[Resolution, str | None]:
    text = dst.strip()
    if text.startswith(("i-", "eni-")):
        eni = (
            model.interfaces_of_instance(model.get(text, Instance).id)[0]
            if text.startswith("i-")
            else model.get(text, NetworkInterface)
        )
        addr = eni.private_ip
        if (
            src_eni is None
            or model.vpc_of(src_eni).id != model.vpc_of(eni).id
            and eni.public_ip is not None
            and not _peered(model, src_eni, eni)
        ):
            addr = eni.public_ip or addr
        return Resolution(text, (addr,), "literal", f"address of {eni.id}"), None
    if src_eni is not None:
        vpc = model.vpc_of(src_eni)
        az = model.subnet_of(src_eni).availability_zone
    else:
        vpc, az = Vpc(**_OUTSIDE_VPC, region=region or DEFAULT_CLI_REGION), None
    res = resolve(model, vpc, text, region=region, client_az=az)
    return res, res.bucket


def _peered(model: Model, a: NetworkInterface, b: NetworkInterface) -> bool:
    va, vb = model.vpc_of(a).id, model.vpc_of(b).id
    return any({p.requester_vpc_id, p.accepter_vpc_id} == {va, vb} for p in model.peering_connections)


def reach(
    model: Model,
    src: str,
    dst: str,
    protocol: str = "tcp",
    port: int | None = None,
    region: str | None = None,
    *,
    api: ApiRequest | None = None,
) -> Trace:
    """Can `src` reach `dst`? The answer with its path and explanations (what `vpcflow reach` prints)."""
    proto = protocol_number(protocol)
    if port is None:
        port = 8 if proto in (ICMP, ICMPV6) else 443 if proto == 6 else None
    eni, src_addr = source_interface(model, src)
    resolution, bucket = _destination(model, eni, dst, region)
    query = Query(
        source=src,
        destination=dst,
        protocol=protocol if isinstance(protocol, str) else str(protocol),
        port=port,
        region=region,
        source_address=str(src_addr),
        destination_address=str(resolution.address) if resolution.address else None,
    )
    dns_json: dict[str, Any] | None = resolution.to_json() if resolution.source != "literal" else None
    notes = [
        Explanation(
            code="PRIVATE_DNS_NOT_APPLIED",
            component=(resolution.endpoint.id if resolution.endpoint else dst),
            direction="dns",
            detail=w,
            fix="set enableDnsSupport and enableDnsHostnames to true on the VPC",
        )
        for w in resolution.warnings
    ]
    if not resolution.resolved:
        exp = Explanation(
            code="DNS_NAME_NOT_RESOLVED",
            component=dst,
            direction="dns",
            detail=resolution.detail,
            fix=_dns_fix(resolution),
        )
        return Trace(
            query=query,
            reachable=False,
            outcome=Outcome.name_not_resolved,
            explanations=(exp, *notes),
            dns=dns_json,
        )
    verdict = evaluate_flow(
        model, eni or str(src_addr), resolution.addresses[0], proto, port, api=api, bucket=bucket
    )
    return Trace(
        query=query,
        reachable=verdict.reachable,
        outcome=verdict.outcome,
        path=verdict.path,
        explanations=(*verdict.explanations, *notes),
        dns=dns_json,
    )


def _dns_fix(res: Resolution) -> str:
    if "enableDnsSupport" in res.detail:
        return "set enableDnsSupport to true on the VPC"
    if "catalog" in res.detail:
        return "add the service and Region to the model's `services:`"
    return "use an address, or a name the model knows"
