"""The explained answer: a frozen, typed trace (like pybatfish's Trace / Hop / Step).

    Trace                        one query: reachable?, outcome, path, explanations
    ├── Hop                      one component the packet passes (ENI, gateway, endpoint, service)
    │   └── Step                 one decision at that component (SG, NACL, route, translation)
    └── Explanation              why it stopped (or what to know), with an AWS-style code and a fix

`Trace.to_json()` is the JSON `vpcflow reach --output json` prints; `rich` renders a Trace as a tree.
Codes follow AWS Reachability Analyzer's explanation codes (spec vpc.md §8.2); the ones RA does not
model (DNS, policies, asymmetric return routes) are vpcflow's own and listed in docs/model.md.
"""

from __future__ import annotations

import enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from rich.text import Text
from rich.tree import Tree


class Outcome(enum.StrEnum):
    reachable = "Reachable"
    timed_out = "TimedOut"  # a packet is dropped on the way there or back: the client sees a time-out
    access_denied = "AccessDenied"  # the network path works; the API call is refused (HTTP 403)
    name_not_resolved = "NameNotResolved"
    unknown = "Unknown"  # the path leaves what the model describes (transit gateway, VPN, GWLB)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Packet(_Frozen):
    """The header as it is at a hop (after translations so far)."""

    src: str
    dst: str
    protocol: int
    src_port: int | None = None
    dst_port: int | None = None

    def __str__(self) -> str:
        sp = f":{self.src_port}" if self.src_port is not None else ""
        dp = f":{self.dst_port}" if self.dst_port is not None else ""
        from vpcflow.network.model import PROTOCOL_NAMES

        return f"{self.src}{sp} -> {self.dst}{dp} {PROTOCOL_NAMES.get(self.protocol, self.protocol)}"


StepAction = Literal["ALLOW", "DENY", "FORWARD", "DROP", "TRANSLATE", "RESOLVE", "DELIVER", "INFO"]


class Step(_Frozen):
    component: str
    kind: str  # security-group, network-acl, route-table, internet-gateway, nat-gateway, policy, dns ...
    action: StepAction
    detail: str


class Hop(_Frozen):
    node: str  # eni-..., igw-..., nat-..., vpce-..., pcx-..., "internet", "s3@eu-west-1"
    kind: str
    direction: Literal["forward", "return"]
    packet: Packet
    steps: tuple[Step, ...] = ()


class Explanation(_Frozen):
    code: str
    component: str
    direction: Literal["forward", "return", "dns", "policy", "config"]
    detail: str
    fix: str = ""


class Query(_Frozen):
    source: str
    destination: str
    protocol: str
    port: int | None
    region: str | None = None
    source_address: str | None = None
    destination_address: str | None = None


class Trace(_Frozen):
    query: Query
    reachable: bool
    outcome: Outcome
    path: tuple[Hop, ...] = ()
    explanations: tuple[Explanation, ...] = ()
    dns: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "reachable": self.reachable,
            "outcome": self.outcome.value,
            "query": self.query.model_dump(),
            "dns": self.dns,
            "path": [
                {
                    "node": h.node,
                    "kind": h.kind,
                    "direction": h.direction,
                    "packet": h.packet.model_dump(),
                    "steps": [s.model_dump() for s in h.steps],
                }
                for h in self.path
            ],
            "explanations": [e.model_dump() for e in self.explanations],
        }

    def __rich__(self) -> Tree:
        colour = "green" if self.outcome is Outcome.reachable else "yellow" if self.reachable else "red"
        q = self.query
        port = f" port {q.port}" if q.port is not None else ""
        head = Text.assemble(
            (f"{self.outcome.value}", f"bold {colour}"),
            f"  {q.source} -> {q.destination} ({q.protocol}{port})",
        )
        tree = Tree(head)
        if self.dns:
            answers = ", ".join(self.dns.get("addresses") or []) or "no answer"
            node = tree.add(Text(f"dns {self.dns['name']} -> {answers}", style="cyan"))
            node.add(Text(self.dns.get("detail", "")))
            for warning in self.dns.get("warnings") or []:
                node.add(Text(f"warning: {warning}", style="yellow"))
        for direction in ("forward", "return"):
            hops = [h for h in self.path if h.direction == direction]
            if not hops:
                continue
            branch = tree.add(Text(f"{direction} path", style="bold"))
            for hop in hops:
                node = branch.add(
                    Text.assemble((f"{hop.node}", "bold"), f" ({hop.kind})  ", (str(hop.packet), "dim"))
                )
                for step in hop.steps:
                    style = {"DENY": "red", "DROP": "red", "ALLOW": "green", "DELIVER": "green"}.get(
                        step.action, ""
                    )
                    detail = (
                        step.detail
                        if step.detail.startswith(step.component)
                        else f"{step.component}: {step.detail}"
                    )
                    node.add(Text.assemble((f"{step.action:<9}", style), f" {detail}"))
        if self.explanations:
            branch = tree.add(Text("explanations", style="bold"))
            for exp in self.explanations:
                node = branch.add(
                    Text.assemble(
                        (exp.code, "bold red" if self.outcome is not Outcome.reachable else "bold"),
                        f"  {exp.component} ({exp.direction})",
                    )
                )
                node.add(Text(exp.detail))
                if exp.fix:
                    node.add(Text(f"fix: {exp.fix}", style="cyan"))
        return tree
