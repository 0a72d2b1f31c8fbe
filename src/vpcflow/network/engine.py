"""Forward and return legs of one flow over the model (the recording tools are in walk.py)."""

from __future__ import annotations

from ipaddress import IPv4Address

from vpcflow.network.model import (
    GATEWAY_ENDPOINT_SERVICES,
    AwsService,
    EgressOnlyInternetGateway,
    Instance,
    InternetGateway,
    NatGateway,
    NetworkInterface,
    PeeringConnection,
    RouteTarget,
    Subnet,
    Vpc,
    VpcEndpoint,
)
from vpcflow.network.routing import route_for
from vpcflow.network.trace import Step
from vpcflow.network.walk import ICMP, MAX_HOPS, RFC6598, TCP, UDP, Node, Pkt, Walk, is_private_v4

SERVICE_PORTS = {"s3": (80, 443), "dynamodb": (80, 443)}  # others: 443 only


class FlowWalk(Walk):
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

    def through_igw(self, igw: InternetGateway, pkt: Pkt, vpc: Vpc, eni: NetworkInterface) -> None:
        steps: list[Step] = []
        node = Node("igw", igw.id, resource=igw, pkt_in=pkt)
        self.chain.append(node)
        if igw.vpc_id != vpc.id:
            self.hop(igw.id, "internet-gateway", pkt, steps)
            raise self.stop(
                "BAD_STATE_ATTACHMENT",
                igw.id,
                f"{igw.id} is not attached to {vpc.id}",
                f"attach {igw.id} to {vpc.id}",
            )
        if self.in_vpc(pkt.dst, vpc):
            self.hop(igw.id, "internet-gateway", pkt, steps)
            raise self.stop(
                "IGW_DESTINATION_ADDRESS_IN_VPC_CIDRS",
                igw.id,
                f"{pkt.dst} is inside {vpc.id}",
                "route VPC addresses locally",
            )
        out = pkt
        if pkt.dst.version == 4:
            if is_private_v4(pkt.dst) or pkt.dst in RFC6598:
                self.hop(igw.id, "internet-gateway", pkt, steps)
                code = (
                    "IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS"
                    if is_private_v4(pkt.dst)
                    else "IGW_DESTINATION_ADDRESS_NOT_IN_RFC6598_EGRESS"
                )
                raise self.stop(
                    code,
                    igw.id,
                    f"{pkt.dst} is a private address: the internet gateway does not forward it",
                    "route private ranges to a peering, transit gateway or VPN",
                )
            owner = self.model.interface_for_ip(pkt.src, vpc.id)
            public = owner.public_ip if owner else None
            if public is None:
                self.hop(igw.id, "internet-gateway", pkt, steps)
                who = owner.id if owner else str(pkt.src)
                raise self.stop(
                    "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS",
                    igw.id,
                    f"{who} has no public IPv4 address, so the internet gateway cannot translate {pkt.src}",
                    f"associate an Elastic IP with {who}, or route 0.0.0.0/0 from its subnet to a NAT gateway",
                )
            out = Pkt(public, pkt.dst, pkt.proto, pkt.sport, pkt.dport)
            steps.append(
                Step(
                    component=igw.id,
                    kind="internet-gateway",
                    action="TRANSLATE",
                    detail=f"source {pkt.src} -> {public} (1:1 NAT)",
                )
            )
        node.pkt_out = out
        self.hop(igw.id, "internet-gateway", pkt, steps)
        self.on_internet(out)

    def through_eigw(self, eigw: EgressOnlyInternetGateway, pkt: Pkt, vpc: Vpc) -> None:
        node = Node("eigw", eigw.id, resource=eigw, pkt_in=pkt, pkt_out=pkt)
        self.chain.append(node)
        self.hop(eigw.id, "egress-only-internet-gateway", pkt, [])
        if eigw.vpc_id != vpc.id:
            raise self.stop(
                "BAD_STATE_ATTACHMENT",
                eigw.id,
                f"{eigw.id} is not attached to {vpc.id}",
                f"attach it to {vpc.id}",
            )
        if pkt.dst.version != 6:
            raise self.stop(
                "BAD_STATE_ROUTE",
                eigw.id,
                "egress-only internet gateways carry IPv6 only",
                "route IPv4 to a NAT gateway or internet gateway",
            )
        self.on_internet(pkt)

    def through_gateway_endpoint(self, ep: VpcEndpoint, pkt: Pkt, vpc: Vpc) -> None:
        node = Node("gateway-endpoint", ep.id, resource=ep, pkt_in=pkt, pkt_out=pkt)
        self.chain.append(node)
        steps = [
            Step(
                component=ep.id,
                kind="gateway-endpoint",
                action="FORWARD",
                detail=f"to {ep.service_name} (prefix list route)",
            )
        ]
        self.hop(ep.id, "gateway-endpoint", pkt, steps)
        if ep.vpc_endpoint_type == "GatewayLoadBalancer":
            raise self.stop(
                "PATH_THROUGH_GWLB_NOT_CHECKED",
                ep.id,
                "the path continues through a Gateway Load Balancer endpoint, which the model does not follow",
                "",
                unknown=True,
            )
        if ep.state != "available":
            raise self.stop(
                "BAD_STATE", ep.id, f"gateway endpoint {ep.id} is {ep.state}", "recreate the endpoint"
            )
        if not (pkt.proto == TCP or (pkt.proto == ICMP and pkt.dport == 8)):
            raise self.stop(
                "VPCE_GATEWAY_PROTOCOL_RESTRICTION",
                ep.id,
                "gateway endpoints accept only TCP or ICMP echo",
                "use TCP",
            )
        if not self.in_vpc(pkt.src, vpc):
            raise self.stop(
                "VPCE_GATEWAY_EGRESS_SOURCE_ADDRESS_RESTRICTION",
                ep.id,
                f"{pkt.src} is not an address of {vpc.id}",
                "use an interface endpoint for traffic from outside the VPC",
            )
        svc = self.model.service_for_ip(pkt.dst)
        self.at_service(svc, pkt, ep.service, ep)

    def through_peering(self, pcx: PeeringConnection, pkt: Pkt, vpc: Vpc) -> None:
        node = Node("pcx", pcx.id, resource=pcx, pkt_in=pkt, pkt_out=pkt)
        self.chain.append(node)
        self.hop(
            pcx.id,
            "peering-connection",
            pkt,
            [
                Step(
                    component=pcx.id,
                    kind="peering-connection",
                    action="FORWARD",
                    detail=f"{pcx.requester_vpc_id} <-> {pcx.accepter_vpc_id}",
                )
            ],
        )
        if pcx.status != "active":
            raise self.stop(
                "BAD_STATE",
                pcx.id,
                f"peering connection {pcx.id} is {pcx.status}",
                "accept the peering connection",
            )
        other_id = pcx.accepter_vpc_id if pcx.requester_vpc_id == vpc.id else pcx.requester_vpc_id
        other = self.model.get(other_id, Vpc)
        if not self.in_vpc(pkt.dst, other):
            raise self.stop(
                "PCX_REQUIRES_ADDRESS_IN_VPC_CIDR",
                pcx.id,
                f"{pkt.dst} is not in {other.id}: peering is not transitive",
                "peer directly with the destination's VPC",
            )
        dest = self.model.interface_for_ip(pkt.dst, other.id)
        if dest is None:
            raise self.stop(
                "UNKNOWN_DESTINATION",
                other.id,
                f"no network interface in {other.id} holds {pkt.dst}",
                "check the destination address",
            )
        self.arrive_eni(dest, pkt, from_outside=True)

    def on_internet(self, pkt: Pkt) -> None:
        """Beyond an internet gateway: an AWS service, a public address of a modelled ENI, or a host."""
        m = self.model
        svc = m.service_for_ip(pkt.dst)
        if svc is not None:
            self.at_service(svc, pkt, svc.service, None)
            return
        target = m.interface_for_public_ip(pkt.dst)
        if target is None and pkt.dst.version == 6:
            target = m.interface_for_ip(pkt.dst)
        if target is not None:
            self.enter_from_internet(target, pkt)
            return
        node = Node("internet", str(pkt.dst), pkt_in=pkt)
        self.chain.append(node)
        self.hop(
            "internet",
            "internet",
            pkt,
            [
                Step(
                    component="internet",
                    kind="internet",
                    action="DELIVER",
                    detail=f"an internet host at {pkt.dst} (assumed to answer)",
                )
            ],
        )

    def enter_from_internet(self, eni: NetworkInterface, pkt: Pkt) -> None:
        m = self.model
        vpc = m.vpc_of(eni)
        igw = self.igw_of(vpc)
        steps: list[Step] = []
        node = Node("igw", igw.id if igw else "igw", resource=igw, pkt_in=pkt, entered_from_outside=True)
        self.chain.append(node)
        if igw is None:
            self.hop("internet", "internet", pkt, steps)
            raise self.stop(
                "NO_PATH",
                vpc.id,
                f"{vpc.id} has no internet gateway: {pkt.dst} cannot be reached from the internet",
                f"attach an internet gateway to {vpc.id}",
            )
        if m.nat_gateway_of(eni) is not None:
            self.hop(igw.id, "internet-gateway", pkt, steps)
            raise self.stop(
                "NO_PATH",
                eni.id,
                f"{pkt.dst} is a NAT gateway's Elastic IP: NAT gateways pass only traffic initiated from inside",
                "reach the instance through its own public address or a load balancer",
            )
        inside = pkt
        if pkt.dst.version == 4:
            inside = Pkt(pkt.src, eni.private_ip, pkt.proto, pkt.sport, pkt.dport)
            steps.append(
                Step(
                    component=igw.id,
                    kind="internet-gateway",
                    action="TRANSLATE",
                    detail=f"destination {pkt.dst} -> {eni.private_ip} (1:1 NAT)",
                )
            )
        node.pkt_out = inside
        self.hop(igw.id, "internet-gateway", pkt, steps)
        self.arrive_eni(eni, inside, from_outside=True)

    def from_internet(self, pkt: Pkt) -> None:
        node = Node("internet-source", str(pkt.src), pkt_out=pkt, left_to_outside=True)
        self.chain.append(node)
        self.hop(
            "internet",
            "internet",
            pkt,
            [Step(component="internet", kind="internet", action="FORWARD", detail=f"a host at {pkt.src}")],
        )
        m = self.model
        target = m.interface_for_public_ip(pkt.dst) or (
            m.interface_for_ip(pkt.dst) if pkt.dst.version == 6 else None
        )
        if target is not None:
            self.enter_from_internet(target, pkt)
            return
        if m.interfaces_with_ip(pkt.dst):
            raise self.stop(
                "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS",
                pkt.dst.exploded,
                f"{pkt.dst} is a private address: internet gateways accept only public addresses of interfaces",
                "give the interface a public IP or Elastic IP and use that",
            )
        raise self.stop(
            "NO_SOURCE_OR_DESTINATION",
            str(pkt.dst),
            "neither end of the flow is in the model",
            "start from an instance, an ENI or an address in the model",
        )

    def at_service(
        self, svc: AwsService | None, pkt: Pkt, service_name: str, endpoint: VpcEndpoint | None
    ) -> None:
        name = f"{svc.service}@{svc.region}" if svc else service_name
        node = Node("service", name, resource=svc, pkt_in=pkt)
        self.chain.append(node)
        self.service, self.service_endpoint = svc, endpoint
        ports = SERVICE_PORTS.get(service_name, (443,))
        steps = [
            Step(
                component=name,
                kind="aws-service",
                action="DELIVER",
                detail=f"{svc.endpoint_service_name if svc else service_name}, listening on TCP {', '.join(map(str, ports))}",
            )
        ]
        self.hop(name, "aws-service", pkt, steps)
        if pkt.proto != TCP or pkt.dport not in ports:
            raise self.stop(
                "TARGET_PORT_RESTRICTION",
                name,
                f"{service_name} answers on TCP {', '.join(map(str, ports))} only",
                "use HTTPS (TCP 443)",
            )

    # --- return ---------------------------------------------------------------------------------

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


__all__ = ["GATEWAY_ENDPOINT_SERVICES", "FlowWalk", "Instance", "IPv4Address"]
