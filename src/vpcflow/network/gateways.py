"""Forward hops beyond the subnet: gateways, endpoints, peering, the internet and AWS services."""

from __future__ import annotations

from vpcflow.network.model import (
    AwsService,
    EgressOnlyInternetGateway,
    InternetGateway,
    NetworkInterface,
    PeeringConnection,
    Vpc,
    VpcEndpoint,
)
from vpcflow.network.trace import Step
from vpcflow.network.walk import ICMP, RFC6598, TCP, Node, Pkt, Walk, is_private_v4

SERVICE_PORTS = {"s3": (80, 443), "dynamodb": (80, 443)}  # others: 443 only


class GatewayHops(Walk):
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
