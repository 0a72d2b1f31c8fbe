"""What one flow does at every network interface it crosses: the input of flow-log simulation.

`evaluate_flow` (reach.py) returns a `FlowVerdict`. Its `observations` are, in the order the
packets cross them, one `EniObservation` per (interface, direction of the packet at that
interface, leg of the flow): exactly the records AWS would write for an interface with a flow log
on it (spec flowlogs.md §1.2, §9.6; vpc.md §7):

- request leg: source ENI egress -> [NAT gateway ENI ingress, egress] -> [appliance ENI ingress,
  egress] -> destination ENI ingress (or interface endpoint ENI ingress);
- response leg: the same interfaces in reverse order, ingress and egress swapped.

Addresses: `srcaddr`/`dstaddr` as the flow log shows them on that interface (an intermediate
interface - NAT gateway, appliance - shows its own primary private IPv4 for itself), and
`pkt_srcaddr`/`pkt_dstaddr` as the packet carries them. A packet that a SG or NACL drops is
observed with action REJECT at the interface where it is dropped, and the walk stops there.
A packet dropped by routing (no route, blackhole) after leaving an interface is still ACCEPT on
that interface: flow logs record what the SG and NACL decided, not what the router did.
`traffic_path` (egress only): 1 same VPC, 2 IGW / gateway endpoint (non-Nitro and
requester-managed interfaces), 3 VGW, 4 intra-Region peering, 5 inter-Region peering, 7 gateway
endpoint (Nitro instance), 8 IGW (Nitro instance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vpcflow.network.policy import PolicyDecision
from vpcflow.network.trace import Explanation, Hop, Outcome


@dataclass(frozen=True, slots=True)
class EniObservation:
    interface_id: str
    account_id: str
    vpc_id: str
    subnet_id: str
    instance_id: str | None  # None for requester-managed interfaces (flow logs print '-')
    region: str
    az_id: str | None
    interface_type: str
    leg: Literal["request", "response"]
    flow_direction: Literal["ingress", "egress"]
    action: Literal["ACCEPT", "REJECT"]
    decided_by: tuple[str, ...]  # SG / NACL rule labels that accepted, or the one that rejected
    srcaddr: str
    dstaddr: str
    pkt_srcaddr: str
    pkt_dstaddr: str
    srcport: int  # 0 for ICMP and protocols without ports, as flow logs show them
    dstport: int
    protocol: int
    traffic_path: int | None  # egress only
    pkt_src_aws_service: str | None
    pkt_dst_aws_service: str | None
    type: Literal["IPv4", "IPv6"]
    requester_managed: bool


@dataclass(frozen=True)
class FlowVerdict:
    """The result of one flow: reachable?, why, and each interface's view of it."""

    reachable: bool  # the packets get there and back (an AccessDenied flow is reachable)
    outcome: Outcome
    observations: tuple[EniObservation, ...]
    path: tuple[Hop, ...]
    explanations: tuple[Explanation, ...]
    policy: PolicyDecision | None = None  # the API-level decision at an AWS service, if any
    delivered: bool = False  # the request reached the destination (the response may still be lost)
    notes: tuple[str, ...] = field(default=())

    @property
    def request(self) -> tuple[EniObservation, ...]:
        return tuple(o for o in self.observations if o.leg == "request")

    @property
    def response(self) -> tuple[EniObservation, ...]:
        return tuple(o for o in self.observations if o.leg == "response")

    @property
    def blocking(self) -> Explanation | None:
        return self.explanations[0] if self.explanations and self.outcome is not Outcome.reachable else None
