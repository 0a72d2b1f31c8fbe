"""The PathFinder over a vpcflow.network model: the reachability engine's verdicts as paths.

`evaluate_flow` (vpcflow.network) gives, for one flow, every interface's observation of the request
and response packets (flows.py). This module turns them into `FlowPath`s, lists the model's ENIs as
flow log records describe them, resolves names through the VPC's DNS, and knows which traffic AWS
does not log.

Choices where AWS is silent:
- `account-id` of a VPC endpoint's interface is `unknown` (AWS: "If the network interface is created
  by an AWS service, for example when creating a VPC endpoint ..., the record might display unknown");
  NAT gateway interfaces show the VPC owner's account.
- A subnet without `availability_zone_id` gives `az-id` '-'.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property

from vpcflow.capture.addresses import DHCP_PORTS, SHIPPED_RANGES, UNLOGGED_ADDRESSES, AwsRanges
from vpcflow.capture.paths import FlowPath, Interface, Port, Sighting
from vpcflow.errors import ModelError


class ModelPaths:
    """A `traffic.PathFinder` for a `vpcflow.network.Model`."""

    def __init__(self, model):
        self.model = model
        self.known_resources = (
            {v.id for v in model.vpcs}
            | {s.id for s in model.subnets}
            | {e.id for e in model.network_interfaces}
        )

    # -- interfaces ----------------------------------------------------------------------------

    @cached_property
    def _interfaces(self) -> list[Interface]:
        model = self.model
        out = []
        for eni in model.network_interfaces:
            subnet = model.subnet_of(eni)
            vpc = model.vpc_of(eni)
            instance = model.instance_of(eni)
            kind = {"nat_gateway": "nat-gateway", "vpc_endpoint": "vpc-endpoint"}.get(
                str(eni.interface_type), "instance" if instance is not None else "other"
            )
            account = "unknown" if kind == "vpc-endpoint" else vpc.account_id
            out.append(
                Interface(
                    id=eni.id,
                    account_id=account,
                    vpc_id=vpc.id,
                    subnet_id=subnet.id,
                    private_ip=str(eni.private_ip),
                    region=vpc.region,
                    az_id=subnet.availability_zone_id,
                    instance_id=None if eni.requester_managed or instance is None else instance.id,
                    kind=kind,
                    nitro=bool(instance.nitro) if instance is not None else False,
                    public_ip=str(eni.public_ip) if eni.public_ip else None,
                    owner_id=vpc.account_id,
                )
            )
        return out

    def interfaces(self) -> list[Interface]:
        return self._interfaces

    def aws_ranges(self) -> AwsRanges:
        """The model's service ranges (what the engine sees), then the shipped table for the rest."""
        rows = [
            (str(cidr), svc.region, svc.flow_log_code)
            for svc in self.model.services
            for cidr in svc.public_cidrs
            if cidr.version == 4
        ]
        return AwsRanges.from_rows(rows + list(SHIPPED_RANGES))

    # -- names ---------------------------------------------------------------------------------

    def _eni(self, name: str):
        model = self.model
        if name.startswith("i-"):
            enis = model.interfaces_of_instance(name)
            if not enis:
                raise ModelError(f"{model.source}: instance {name} is not in the model")
            return enis[0]
        if name.startswith("eni-"):
            found = model.find(name)
            if found is None:
                raise ModelError(f"{model.source}: network interface {name} is not in the model")
            return found
        try:
            return model.interface_for_ip(name)
        except ValueError:
            return None

    def address_of(self, name: str) -> str:
        if name.startswith(("i-", "eni-")):
            return str(self._eni(name).private_ip)
        return str(ipaddress.ip_address(name))

    def resolve(self, source: str, name: str, region: str | None = None) -> str | None:
        from vpcflow.network.dns import resolve

        eni = self._eni(source)
        # an internet client resolves names as the first VPC would: only public answers matter to it
        vpc = self.model.vpcs[0] if eni is None else self.model.vpc_of(eni)
        subnet = self.model.subnet_of(eni) if eni is not None else None
        answer = resolve(
            self.model, vpc, name, region=region, client_az=subnet.availability_zone if subnet else None
        )
        return str(answer.address) if answer.resolved else None

    def public_targets(self) -> list[tuple[str, str]]:
        return [
            (eni.id, str(eni.public_ip))
            for eni in self.model.network_interfaces
            if eni.public_ip is not None and str(eni.interface_type) == "interface"
        ]

    def is_unlogged(self, source: str, destination: str, protocol: int, port: int) -> bool:
        if destination in UNLOGGED_ADDRESSES or (protocol == 17 and port in DHCP_PORTS):
            return True
        eni = self._eni(source) if not _is_public(source) else None
        if eni is None:
            return False
        vpc = self.model.vpc_of(eni)
        address = ipaddress.ip_address(destination)
        if address == vpc.dns_resolver_ip:
            return True  # the Amazon DNS server
        subnet = self.model.subnet_of(eni)
        return address == subnet.cidr_block.network_address + 1  # the VPC router's reserved address

    # -- paths ---------------------------------------------------------------------------------

    def path(self, source: str, destination: str, protocol: int, port: int, source_port: int) -> FlowPath:
        from vpcflow.network.reach import evaluate_flow

        verdict = evaluate_flow(self.model, source, destination, protocol, port, src_port=source_port)
        request = tuple(_sighting(o, source_port, port) for o in verdict.request)
        response = tuple(_sighting(o, source_port, port) for o in verdict.response)
        nat_ports = {o.srcport for o in verdict.request if o.srcport not in (source_port, port)} | {
            o.dstport for o in verdict.response if o.dstport not in (source_port, port)
        }
        return FlowPath(
            protocol=protocol,
            request=request,
            response=response,
            reaches_destination=verdict.delivered,
            returns=verdict.reachable,
            nat_port=min(nat_ports) if nat_ports else None,
            explanation=tuple(e.code for e in verdict.explanations),
        )


def _role(value: int, client: int, server: int, protocol: int) -> Port:
    if protocol in (1, 58) or value == 0 and client == 0:
        return Port.ZERO
    if value == client:
        return Port.CLIENT
    if value == server:
        return Port.SERVER
    return Port.NAT


def _sighting(o, client: int, server: int) -> Sighting:
    return Sighting(
        interface=o.interface_id,
        flow_direction=o.flow_direction,
        srcaddr=o.srcaddr,
        dstaddr=o.dstaddr,
        pkt_srcaddr=o.pkt_srcaddr,
        pkt_dstaddr=o.pkt_dstaddr,
        srcport=_role(o.srcport, client, server, o.protocol),
        dstport=_role(o.dstport, client, server, o.protocol),
        action=o.action,
        traffic_path=o.traffic_path if o.flow_direction == "egress" else None,
        why="; ".join(o.decided_by),
    )


def _is_public(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_global
    except ValueError:
        return False
