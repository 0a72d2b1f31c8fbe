"""Run a scenario: traffic through the reachability engine, records per flow log, delivery.

    result = simulate(scenario, finder, flow_logs)          # records, nothing written
    written = deliver(result, out_dir)                       # S3 objects and CloudWatch Logs streams

`finder` is a `traffic.PathFinder`: `engine.EnginePaths(model)` over vpcflow.network, or
`StaticPaths` (hand-written paths, as tests and benchmarks use).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from vpcflow.capture.addresses import AddressBook, AwsRanges
from vpcflow.capture.collect import collect
from vpcflow.capture.deliver_cwl import DeliveredStream, FlowLogRecords, deliver_cloudwatch
from vpcflow.capture.deliver_s3 import MAX_FILE_BYTES, DeliveredObject, deliver_s3
from vpcflow.capture.flowlogs import FlowLog
from vpcflow.capture.paths import FlowPath, Interface
from vpcflow.capture.records import Capture
from vpcflow.capture.scenario import Scenario
from vpcflow.capture.sinks import LocalBuckets, LocalLogGroups, ObjectSink, StreamSink
from vpcflow.capture.traffic import PathFinder, build_traffic


@dataclass
class Simulation:
    """What a scenario produced: every flow log's records, and what was left out."""

    scenario: Scenario
    outputs: list[FlowLogRecords]
    connections: int  # distinct paths evaluated
    unlogged: int  # connections AWS does not log (Amazon DNS, metadata, ...)

    @property
    def records(self) -> int:
        return sum(o.table.num_rows for o in self.outputs)


@dataclass
class Delivery:
    s3: list[DeliveredObject] = field(default_factory=list)
    cloudwatch: list[DeliveredStream] = field(default_factory=list)


def simulate(
    scenario: Scenario, finder: PathFinder, flow_logs: list[FlowLog], *, ranges: AwsRanges | None = None
) -> Simulation:
    capture = Capture(finder.interfaces(), AddressBook(ranges), phase_s=scenario.window_offset)
    capture.known_resources = getattr(finder, "known_resources", set())
    traffic = build_traffic(scenario, finder, capture)
    outputs = collect(
        capture, traffic.trains(), flow_logs, scenario.begin, scenario.end, capacity=scenario.capacity
    )
    return Simulation(scenario, outputs, len(capture.paths), traffic.skipped)


def deliver(
    simulation: Simulation | list[FlowLogRecords],
    out: str | os.PathLike | None = None,
    *,
    objects: ObjectSink | None = None,
    streams: StreamSink | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> Delivery:
    """Write S3 flow logs to `out/s3/<bucket>/` and CloudWatch Logs flow logs to `out/logs/<group>/`."""
    outputs = simulation.outputs if isinstance(simulation, Simulation) else simulation
    objects = objects or LocalBuckets(out)
    streams = streams or LocalLogGroups(out)
    done = Delivery()
    for o in outputs:
        if o.flow_log.log_destination_type == "s3":
            done.s3 += deliver_s3(
                o.flow_log,
                o.table,
                o.end,
                objects,
                account=o.account,
                region=o.region,
                max_file_bytes=max_file_bytes,
            )
    done.cloudwatch = deliver_cloudwatch(
        [o for o in outputs if o.flow_log.log_destination_type == "cloud-watch-logs"], streams
    )
    return done


class StaticPaths:
    """A PathFinder over hand-written paths: `paths[(source, destination, protocol, port)]`.

    Addresses are given directly; `names` maps instance/ENI ids to addresses. Unknown flows go
    nowhere (the source ENI's egress ACCEPT is not even recorded), so tests list every path they use.
    """

    def __init__(
        self,
        interfaces: list[Interface],
        paths: dict[tuple, FlowPath],
        *,
        names=None,
        public=None,
        unlogged=(),
    ):
        self._interfaces = interfaces
        self._paths = paths
        self._names = dict(names or {})
        self._public = list(public or [])
        self._unlogged = set(unlogged)
        self.known_resources = {i.vpc_id for i in interfaces} | {i.subnet_id for i in interfaces}

    def interfaces(self) -> list[Interface]:
        return self._interfaces

    def address_of(self, name: str) -> str:
        return self._names.get(name, name)

    def resolve(self, source: str, name: str, region: str | None = None) -> str:
        return self._names.get(f"{name}@{region}" if region else name, self._names.get(name, name))

    def public_targets(self) -> list[tuple[str, str]]:
        return self._public

    def is_unlogged(self, source: str, destination: str, protocol: int, port: int) -> bool:
        return destination in self._unlogged

    def path(self, source: str, destination: str, protocol: int, port: int, source_port: int) -> FlowPath:
        key = (self._names.get(source, source), destination, protocol, port)
        if key not in self._paths:
            raise KeyError(f"StaticPaths has no path for {key}")
        return self._paths[key]
