"""Small builders shared by the capture tests: interfaces, sightings, one-scenario runs."""

from __future__ import annotations

from vpcflow.capture.flowlogs import FlowLog
from vpcflow.capture.paths import FlowPath, Interface, Port, Sighting
from vpcflow.capture.scenario import parse_scenario
from vpcflow.capture.simulate import StaticPaths, simulate
from vpcflow.records.writer import record_lines

C, S, N, Z = Port.CLIENT, Port.SERVER, Port.NAT, Port.ZERO


def eni(eni_id, ip, *, account="123456789010", vpc="vpc-abcdefab012345678", subnet="subnet-aaaaaaaa012345678",
        instance="i-01234567890123456", region="us-east-1", az="use1-az1", nitro=False, kind="instance"):  # fmt: skip
    return Interface(eni_id, account, vpc, subnet, ip, region, az, instance, kind=kind, nitro=nitro)


def seen(iface, direction, src, dst, sport, dport, action="ACCEPT", psrc=None, pdst=None, path=None):
    return Sighting(iface.id, direction, src, dst, psrc or src, pdst or dst, sport, dport, action, path)


def flow_log(log_format=None, interval=600, traffic="ALL", vpc="vpc-abcdefab012345678", **more) -> FlowLog:
    more.setdefault("log_destination", "arn:aws:s3:::test-bucket")
    return FlowLog(
        resource_type="VPC", resource_id=vpc, traffic_type=traffic, max_aggregation_interval=interval,
        log_format=log_format, log_destination_type="s3", **more,
    )  # fmt: skip


def run(interfaces, paths, scenario: dict, flow_logs, **finder):
    finder = StaticPaths(interfaces, paths, **finder)
    return simulate(parse_scenario(scenario), finder, flow_logs)


def lines(output) -> list[str]:
    return record_lines(output.table, output.flow_log.format).decode().splitlines()


def path(protocol, request, response=(), **kw) -> FlowPath:
    return FlowPath(protocol, tuple(request), tuple(response), **kw)
