"""The forward leg inside the VPC: source ENI, subnet exit, route choice, NAT, appliances, arrival.

Gateways and services are in gateways.py, the response leg in returns.py, recording in walk.py.
"""

from __future__ import annotations

from vpcflow.network.gateways import GatewayHops
from vpcflow.network.model import (
    EgressOnlyInternetGateway,
    InternetGateway,
    NatGateway,
    NetworkInterface,
    PeeringConnection,
    RouteTarget,
    Vpc,
    VpcEndpoint,
)
from vpcflow.network.returns import ReturnLeg
from vpcflow.network.routing import route_for
from vpcflow.network.trace import Step
from vpcflow.network.walk import ICMP, MAX_HOPS, TCP, UDP, Node, Pkt

SERVICE_PORTS = {"s3": (80, 443), "dynamodb": (80, 443)}  # others: 443 only


class FlowWalk(GatewayHops, ReturnLeg):
    # --- forward --------------------------------------------------------------------------------

    def from_eni(self, eni: NetworkInterface, pkt: Pkt) -> None:
        node = Node("source-eni", eni.id, eni=eni, pkt_out=pkt)
        self.chain.append(node)
        steps: list[Step] = []
        self._instance_running(eni, steps)
        v = self.sg(eni, "egress", pkt.dst, pkt, steps)
        if not v.allowed:
            self.observe(eni, "egress", pkt, False, (v.rule,))
            self.hop(eni.id, "network-interface", pkt, steps)
            raise self.sg_stop(v, eni, pkt)
        self.leave_eni(node, pkt, steps, (v.rule,))

    def _instance_running(self, eni: NetworkInterface, steps: list[Step]) -> None:
        inst = self.model.instance_of(eni)
        if inst is not None and inst.state != "running":
            raise self.stop("BAD_STATE", inst.id, f"instance {inst.id} is {inst.state}", f"start {inst.id}")

    def leave_eni(self, node: Node, pkt: Pkt, steps: list[Step], rules: tuple[str, ...]) -> None:
        """The packet leaves node.eni (SG already passed): same-subnet delivery or NACL + route."""
        eni = node.eni
        assert eni is not None
        m = self.model
        subnet = m.subnet_of(eni)
        vpc = m.vpc_of(subnet)
        if len(self.chain) > MAX_HOPS:
            raise self.stop(
                "ROUTING_LOOP",
                subnet.id,
                f"more than {MAX_HOPS} hops: the route tables send the packet in a circle",
                "fix the routes",
            )
        local = m.interface_for_ip(pkt.dst, vpc.id) if self.in_vpc(pkt.dst, vpc) else None
        if local is not None and local.subnet_id == subnet.id and local.id != eni.id:
            steps.append(
                Step(
                    component=subnet.id,
                    kind="subnet",
                    action="FORWARD",
                    detail="same subnet: delivered at layer 2, no route table or network ACL",
                )
            )
            self.observe(
                eni, "egress", pkt, True, rules, path=1, intermediate=node.kind in ("nat", "appliance")
            )
            self.hop(eni.id, "network-interface", pkt, steps)
            self.arrive_eni(local, pkt, from_outside=False)
            return
        v = self.nacl(subnet, "outbound", pkt, steps)
        intermediate = node.kind in ("nat", "appliance")
        if not v.allowed:
            self.observe(eni, "egress", pkt, False, (v.rule,), intermediate=intermediate)
            self.hop(eni.id, "network-interface", pkt, steps)
            raise self.nacl_stop(v, subnet, pkt)
        node.left_to_outside = True
        rules = (*rules, v.rule)
        rtb = m.route_table_for_subnet(subnet.id)
        choice = route_for(m, rtb.id, pkt.dst)
        route = choice.route
        steps.append(
            Step(
                component=rtb.id,
                kind="route-table",
                action="FORWARD" if route and route.state == "active" else "DROP",
                detail=choice.reason,
            )
        )
        target = route.target_kind if route else None
        path = None
        if route is not None and route.state == "active":
            path = self.traffic_path(
                eni, "gateway-endpoint" if target is RouteTarget.vpc_endpoint else target
            )
        self.observe(eni, "egress", pkt, True, rules, path=path, intermediate=intermediate)
        self.hop(eni.id, "network-interface", pkt, steps)
        if route is None:
            detail, fix = self.no_route_hint(pkt, vpc)
            raise self.stop(
                "NO_ROUTE_TO_DESTINATION",
                rtb.id,
                f"{rtb.id} (used by {subnet.id}) has no route that matches {pkt.dst}{detail}",
                fix
                or f"add a route for {pkt.dst} to {rtb.id} (e.g. 0.0.0.0/0 to a NAT gateway or internet gateway, or a gateway endpoint for the service)",
            )
        if route.state == "blackhole":
            raise self.stop(
                "BAD_STATE_ROUTE",
                rtb.id,
                f"route {route.destination} -> {route.target} in {rtb.id} is a blackhole (its target no longer exists); matching packets are dropped",
                "delete the route or point it at a working target",
            )
        self.follow(route.target, target, pkt, vpc, eni, local)

    def no_route_hint(self, pkt: Pkt, vpc: Vpc) -> tuple[str, str]:
        """The classic trap: a gateway endpoint covers its own Region's prefix list only."""
        svc = self.model.service_for_ip(pkt.dst)
        if svc is None:
            return "", ""
        eps = [
            e
            for e in self.model.endpoints_in(vpc.id)
            if e.vpc_endpoint_type == "Gateway" and e.service == svc.service
        ]
        if eps and svc.region != vpc.region:
            return (
                f" ({pkt.dst} is {svc.service} in {svc.region}; gateway endpoint {eps[0].id} covers {eps[0].service_region} only, prefix lists are per Region)",
                f"call {svc.service} in {vpc.region} (aws ... --region {vpc.region}), or add a route to the internet for other Regions",
            )
        return f" ({pkt.dst} is {svc.service} in {svc.region})", ""

    def follow(
        self,
        target_id: str,
        kind: RouteTarget,
        pkt: Pkt,
        vpc: Vpc,
        eni: NetworkInterface,
        local: NetworkInterface | None,
    ) -> None:
        m = self.model
        if kind is RouteTarget.local:
            if local is None:
                raise self.stop(
                    "UNKNOWN_DESTINATION",
                    vpc.id,
                    f"no network interface in {vpc.id} holds {pkt.dst}",
                    "check the destination address",
                )
            self.arrive_eni(local, pkt, from_outside=True)
        elif kind is RouteTarget.internet_gateway:
            self.through_igw(m.get(target_id, InternetGateway), pkt, vpc, eni)
        elif kind is RouteTarget.egress_only_internet_gateway:
            self.through_eigw(m.get(target_id, EgressOnlyInternetGateway), pkt, vpc)
        elif kind is RouteTarget.nat_gateway:
            nat = m.get(target_id, NatGateway)
            self.arrive_eni(
                m.get(nat.network_interface_id, NetworkInterface), pkt, from_outside=True, nat=nat
            )
        elif kind is RouteTarget.vpc_endpoint:
            self.through_gateway_endpoint(m.get(target_id, VpcEndpoint), pkt, vpc)
        elif kind in (RouteTarget.network_interface, RouteTarget.instance):
            appliance = (
                m.get(target_id, NetworkInterface)
                if kind is RouteTarget.network_interface
                else m.interfaces_of_instance(target_id)[0]
            )
            self.arrive_eni(appliance, pkt, from_outside=True, appliance=True)
        elif kind is RouteTarget.peering_connection:
            self.through_peering(m.get(target_id, PeeringConnection), pkt, vpc)
        else:
            code = "TGW_RTB_ROUTES_ARE_UNKNOWN" if kind is RouteTarget.transit_gateway else "NO_PATH"
            raise self.stop(
                code,
                target_id,
                f"the path continues through {target_id}, whose routing the model does not describe",
                "analyse the rest of the path where it is defined",
                unknown=True,
            )

    def arrive_eni(
        self,
        eni: NetworkInterface,
        pkt: Pkt,
        *,
        from_outside: bool,
        nat: NatGateway | None = None,
        appliance: bool = False,
    ) -> None:
        m = self.model
        nat = nat or m.nat_gateway_of(eni)
        endpoint = m.endpoint_of(eni)
        kind = (
            "nat" if nat else "appliance" if appliance else "endpoint-eni" if endpoint else "destination-eni"
        )
        node = Node(
            kind, eni.id, eni=eni, resource=nat or endpoint, pkt_in=pkt, entered_from_outside=from_outside
        )
        self.chain.append(node)
        steps: list[Step] = []
        subnet = m.subnet_of(eni)
        rules: tuple[str, ...] = ()
        if from_outside:
            v = self.nacl(subnet, "inbound", pkt, steps)
            if not v.allowed:
                self.observe(eni, "ingress", pkt, False, (v.rule,), intermediate=kind in ("nat", "appliance"))
                self.hop(eni.id, "network-interface", pkt, steps)
                raise self.nacl_stop(v, subnet, pkt)
            rules = (v.rule,)
        if nat is not None:
            self.through_nat(node, nat, pkt, steps, rules)
            return
        if (
            eni.security_group_ids or not eni.requester_managed
        ):  # requester-managed ENIs without groups filter nothing
            v = self.sg(eni, "ingress", pkt.src, pkt, steps)
            if not v.allowed:
                self.observe(eni, "ingress", pkt, False, (*rules, v.rule), intermediate=appliance)
                self.hop(eni.id, "network-interface", pkt, steps)
                raise self.sg_stop(v, eni, pkt)
            rules = (*rules, v.rule)
        self.observe(eni, "ingress", pkt, True, rules, intermediate=appliance)
        if appliance:
            if eni.source_dest_check:
                self.hop(eni.id, "network-interface", pkt, steps)
                raise self.stop(
                    "ENI_SOURCE_DEST_CHECK_RESTRICTION",
                    eni.id,
                    f"{eni.id} is a route target but checks source/destination, so it drops packets not addressed to it",
                    f"disable source/destination checking on {eni.id}",
                )
            v = self.sg(eni, "egress", pkt.dst, pkt, steps)
            if not v.allowed:
                self.hop(eni.id, "network-interface", pkt, steps)
                raise self.sg_stop(v, eni, pkt)
            self.middlebox = True
            node.pkt_out = pkt
            self.leave_eni(node, pkt, steps, (v.rule,))
            return
        self._instance_running(eni, steps)
        if endpoint is not None:
            steps.append(
                Step(
                    component=endpoint.id,
                    kind="interface-endpoint",
                    action="FORWARD",
                    detail=f"to {endpoint.service_name} over AWS PrivateLink",
                )
            )
            self.hop(eni.id, "interface-endpoint-eni", pkt, steps)
            if endpoint.state != "available":
                raise self.stop(
                    "BAD_STATE",
                    endpoint.id,
                    f"interface endpoint {endpoint.id} is {endpoint.state}",
                    "wait for it to be available or recreate it",
                )
            if pkt.proto != TCP:
                raise self.stop(
                    "PROTOCOL_RESTRICTION", endpoint.id, "interface endpoints accept TCP only", "use TCP"
                )
            svc = m.service(endpoint.service, endpoint.service_region or m.vpc_of(eni).region)
            self.at_service(svc, pkt, endpoint.service, endpoint)
            return
        steps.append(
            Step(
                component=eni.id, kind="network-interface", action="DELIVER", detail=f"delivered to {pkt.dst}"
            )
        )
        self.hop(eni.id, "network-interface", pkt, steps)

    def through_nat(
        self, node: Node, nat: NatGateway, pkt: Pkt, steps: list[Step], rules: tuple[str, ...]
    ) -> None:
        eni = node.eni
        assert eni is not None
        vpc = self.model.vpc_of(eni)
        if nat.state != "available":
            self.hop(nat.id, "nat-gateway", pkt, steps)
            raise self.stop(
                "BAD_STATE",
                nat.id,
                f"NAT gateway {nat.id} is {nat.state}",
                "create a NAT gateway and point the route at it",
            )
        if pkt.proto not in (TCP, UDP, ICMP):
            self.hop(nat.id, "nat-gateway", pkt, steps)
            raise self.stop(
                "PROTOCOL_RESTRICTION",
                nat.id,
                "NAT gateways pass TCP, UDP and ICMP only",
                "use TCP, UDP or ICMP",
            )
        if not self.in_vpc(pkt.src, vpc):
            self.hop(nat.id, "nat-gateway", pkt, steps)
            raise self.stop(
                "NGW_REQUIRES_SOURCE_IN_VPC",
                nat.id,
                f"{pkt.src} is outside {vpc.id}: NAT gateways serve their own VPC only",
                "use a NAT gateway in the source's VPC",
            )
        self.observe(eni, "ingress", pkt, True, rules, intermediate=True)
        out = Pkt(nat.private_ip, pkt.dst, pkt.proto, self.nat_port(pkt), pkt.dport)
        steps.append(
            Step(
                component=nat.id,
                kind="nat-gateway",
                action="TRANSLATE",
                detail=f"source {pkt.src}:{pkt.sport} -> {out.src}:{out.sport} (the NAT gateway's private address; the internet gateway maps it to {nat.public_ip or 'nothing: private NAT'})",
            )
        )
        node.pkt_out = out
        self.leave_eni(node, out, steps, ())
