"""The response leg: the forward chain retraced, with stateless NACLs and routes back."""

from __future__ import annotations

from vpcflow.network.model import (
    NetworkInterface,
    RouteTarget,
    Subnet,
)
from vpcflow.network.routing import route_for
from vpcflow.network.trace import Step
from vpcflow.network.walk import ICMP, Node, Pkt, Walk

SERVICE_PORTS = {"s3": (80, 443), "dynamodb": (80, 443)}  # others: 443 only


class ReturnLeg(Walk):
    def run_return(self) -> None:
        self.direction = "return"
        last = self.chain[-1]
        resp = last.pkt_in.reply() if last.pkt_in is not None else None
        assert resp is not None
        for i in range(len(self.chain) - 1, -1, -1):
            node = self.chain[i]
            before = self.chain[i - 1] if i > 0 else None
            resp = self.back_through(node, before, resp, responder=i == len(self.chain) - 1)

    def back_through(self, node: Node, before: Node | None, resp: Pkt, *, responder: bool) -> Pkt:
        steps: list[Step] = []
        eni = node.eni
        if node.kind in ("service", "internet", "gateway-endpoint", "pcx", "eigw"):
            self.hop(node.name, node.kind, resp, steps)
            return resp
        if node.kind == "internet-source":
            steps.append(
                Step(
                    component="internet",
                    kind="internet",
                    action="DELIVER",
                    detail=f"response delivered to {resp.dst}",
                )
            )
            self.hop("internet", "internet", resp, steps)
            return resp
        if node.kind == "igw":
            if node.entered_from_outside:  # inbound flow: reply leaves through the IGW, private -> public
                out = node.pkt_in.dst if node.pkt_in else resp.src
                new = Pkt(out, resp.dst, resp.proto, resp.sport, resp.dport)
                steps.append(
                    Step(
                        component=node.name,
                        kind="internet-gateway",
                        action="TRANSLATE",
                        detail=f"source {resp.src} -> {out}",
                    )
                )
            else:  # outbound flow: reply arrives at the public address, public -> private
                original = node.pkt_in.src if node.pkt_in else resp.dst
                new = Pkt(resp.src, original, resp.proto, resp.sport, resp.dport)
                steps.append(
                    Step(
                        component=node.name,
                        kind="internet-gateway",
                        action="TRANSLATE",
                        detail=f"destination {resp.dst} -> {original}",
                    )
                )
            self.hop(node.name, "internet-gateway", resp, steps)
            return new
        assert eni is not None
        subnet = self.model.subnet_of(eni)
        intermediate = node.kind in ("nat", "appliance")
        if not responder:
            rules: tuple[str, ...] = ()
            if node.left_to_outside:
                v = self.nacl(subnet, "inbound", resp, steps)
                if not v.allowed:
                    self.observe(eni, "ingress", resp, False, (v.rule,), intermediate=intermediate)
                    self.hop(eni.id, "network-interface", resp, steps)
                    raise self.nacl_stop(v, subnet, resp)
                rules = (v.rule,)
            if node.kind == "nat":
                self.observe(eni, "ingress", resp, True, rules, intermediate=True)
                original = node.pkt_in
                assert original is not None
                resp = Pkt(
                    resp.src,
                    original.src,
                    resp.proto,
                    resp.sport,
                    original.sport if resp.proto != ICMP else resp.dport,
                )
                steps.append(
                    Step(
                        component=node.resource.id,
                        kind="nat-gateway",
                        action="TRANSLATE",
                        detail=f"destination -> {resp.dst}:{resp.dport} (tracked connection)",
                    )
                )
            else:
                if not eni.requester_managed or intermediate:
                    steps.append(
                        Step(
                            component=",".join(eni.security_group_ids) or "-",
                            kind="security-group",
                            action="ALLOW",
                            detail="response to a tracked connection (security groups are stateful)",
                        )
                    )
                self.observe(
                    eni, "ingress", resp, True, (*rules, "tracked connection"), intermediate=intermediate
                )
                if node.kind == "source-eni":
                    steps.append(
                        Step(
                            component=eni.id,
                            kind="network-interface",
                            action="DELIVER",
                            detail=f"response delivered to {resp.dst}",
                        )
                    )
                    self.hop(eni.id, "network-interface", resp, steps)
                    return resp
        else:
            steps.append(
                Step(
                    component=",".join(eni.security_group_ids) or eni.id,
                    kind="security-group",
                    action="ALLOW",
                    detail="response to a tracked connection (security groups are stateful)",
                )
            )
        rules = ("tracked connection",)
        if node.entered_from_outside:
            v = self.nacl(subnet, "outbound", resp, steps)
            if not v.allowed:
                self.observe(eni, "egress", resp, False, (v.rule,), intermediate=intermediate)
                self.hop(eni.id, "network-interface", resp, steps)
                raise self.nacl_stop(v, subnet, resp)
            rules = (*rules, v.rule)
            path = self.return_route(node, before, resp, subnet, steps, eni)
        else:
            path = 1
        self.observe(eni, "egress", resp, True, rules, path=path, intermediate=intermediate)
        self.hop(eni.id, "network-interface", resp, steps)
        return resp

    def return_route(
        self,
        node: Node,
        before: Node | None,
        resp: Pkt,
        subnet: Subnet,
        steps: list[Step],
        eni: NetworkInterface,
    ) -> int | None:
        """The reply must leave through the hop the request came from."""
        rtb = self.model.route_table_for_subnet(subnet.id)
        choice = route_for(self.model, rtb.id, resp.dst)
        route = choice.route
        expected = _expected_target(before)
        via = (
            None
            if route is None
            else route.target
            if route.target_kind is not RouteTarget.instance
            else self.model.interfaces_of_instance(route.target)[0].id
        )
        ok = (
            route is not None
            and route.state == "active"
            and (via == expected or (expected == "local" and route.target_kind is RouteTarget.local))
        )
        steps.append(
            Step(
                component=rtb.id, kind="route-table", action="FORWARD" if ok else "DROP", detail=choice.reason
            )
        )
        if route is None:
            self.observe(
                eni,
                "egress",
                resp,
                True,
                ("tracked connection",),
                intermediate=node.kind in ("nat", "appliance"),
            )
            self.hop(eni.id, "network-interface", resp, steps)
            raise self.stop(
                "NO_ROUTE_TO_DESTINATION",
                rtb.id,
                f"the reply from {resp.src} to {resp.dst}: {rtb.id} (used by {subnet.id}) has no route back",
                f"add a route for {resp.dst} to {rtb.id} via {expected}",
            )
        if not ok:
            self.observe(
                eni,
                "egress",
                resp,
                True,
                ("tracked connection",),
                intermediate=node.kind in ("nat", "appliance"),
            )
            self.hop(eni.id, "network-interface", resp, steps)
            state = " (blackhole)" if route.state == "blackhole" else ""
            raise self.stop(
                "ASYMMETRIC_ROUTE" if route.state == "active" else "BAD_STATE_ROUTE",
                rtb.id,
                f"the reply from {resp.src} to {resp.dst} follows {route.destination} -> {route.target}{state} in {rtb.id}, not back through {expected}: the connection breaks",
                f"route {resp.dst} from {subnet.id} through {expected}",
            )
        return self.traffic_path(
            eni, "gateway-endpoint" if route.target_kind is RouteTarget.vpc_endpoint else route.target_kind
        )


def _expected_target(before: Node | None) -> str:
    if before is None:
        return "local"
    if before.kind in ("igw", "eigw", "pcx"):
        return before.name
    if before.kind == "appliance" and before.eni is not None:
        return before.eni.id
    if before.kind == "internet-source":
        return "igw"
    return "local"
