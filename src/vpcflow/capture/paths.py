"""What each network interface sees of a flow: the capture's own, engine-independent vocabulary.

A `FlowPath` is the reachability engine's verdict for one flow, reduced to what flow logs record:
for the request packets and for the response packets, the ordered `Sighting`s - one per ENI and
direction the packets cross (source egress, NAT gateway ingress and egress, destination ingress, ...)
with the addresses that ENI's record shows and ACCEPT or REJECT. Packets stop at the first REJECT.
Ports are roles (the client's ephemeral port, the server's port, the port a NAT gateway chose),
so that one path serves every connection of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Port(IntEnum):
    """Which port a sighting's srcport or dstport is."""

    CLIENT = 0  # the initiator's source port (ephemeral)
    SERVER = 1  # the destination port of the request
    NAT = 2  # the source port a NAT gateway rewrote the client's to
    ZERO = 3  # ICMP: AWS records 0 for both ports


@dataclass(frozen=True)
class Interface:
    """What a flow log record says about the ENI it is recorded on."""

    id: str
    account_id: str
    vpc_id: str
    subnet_id: str
    private_ip: str
    region: str
    az_id: str
    instance_id: str | None = None  # None -> '-' (requester-managed: NAT gateway, endpoint, ...)
    kind: str = "instance"  # instance | nat-gateway | vpc-endpoint | other
    nitro: bool = True  # Nitro instances: aggregation at most 60 s, traffic-path 7/8 (flowlogs.md §3.1)
    public_ip: str | None = None
    sublocation_type: str | None = None
    sublocation_id: str | None = None
    owner_id: str | None = None  # the VPC owner, when account_id shows 'unknown' (AWS-created ENIs)


@dataclass(frozen=True)
class Sighting:
    """One ENI's record-worthy view of one direction of a flow."""

    interface: str
    flow_direction: str  # "ingress" | "egress"
    srcaddr: str
    dstaddr: str
    pkt_srcaddr: str
    pkt_dstaddr: str
    srcport: Port
    dstport: Port
    action: str  # "ACCEPT" | "REJECT"
    traffic_path: int | None = None  # egress only (flowlogs.md §1.3)
    reject_reason: str | None = None
    why: str = ""  # the rule or component, for explanations; never written to records

    def __post_init__(self):
        if self.flow_direction not in ("ingress", "egress"):
            raise ValueError(f"flow_direction must be ingress or egress, not {self.flow_direction!r}")
        if self.action not in ("ACCEPT", "REJECT"):
            raise ValueError(f"action must be ACCEPT or REJECT, not {self.action!r}")
        if self.flow_direction == "ingress" and self.traffic_path is not None:
            raise ValueError("traffic-path is not supported for ingress traffic")


@dataclass(frozen=True)
class FlowPath:
    """The sightings of a flow's request and response packets.

    `reaches_destination` is False when the request leaves the VPC accepted but nobody answers (an
    internet host that does not exist, a route to nowhere): the client then retries as it would.
    """

    protocol: int
    request: tuple[Sighting, ...]
    response: tuple[Sighting, ...] = ()
    reaches_destination: bool = True
    returns: bool = True  # the response, once accepted everywhere, is routed back to the client
    nat_port: int | None = None  # the source port a NAT gateway on the path chose, if the engine says
    explanation: tuple[str, ...] = field(default=(), compare=False)

    @property
    def delivered(self) -> bool:
        """The request reached its destination (no REJECT on the way)."""
        return self.reaches_destination and all(s.action == "ACCEPT" for s in self.request)

    @property
    def completed(self) -> bool:
        """The response got back to the client: a TCP handshake completes."""
        return self.delivered and self.returns and all(s.action == "ACCEPT" for s in self.response)
