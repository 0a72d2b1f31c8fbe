"""Scenario -> packet trains: connections, AWS CLI calls and internet scanners on a seeded clock.

Every connection is looked up once per distinct (source, destination, protocol, ports) in a
`PathFinder` (the reachability engine behind it), then becomes packet trains by what happened to it:

- completed TCP: the client's SYN ... FIN train and the server's SYN-ACK ... FIN train;
- TCP whose request arrives but whose response is dropped (a NACL denies it, spec §9.3): the client
  retries its SYN as Linux does (tcp_syn_retries=6: at 0, 1, 3, 7, 15, 31, 63 s) and the server
  answers every SYN with a SYN-ACK that is rejected on its way back;
- TCP whose request is rejected or goes nowhere: the SYN retries alone;
- UDP and ICMP: the request packets, and as many responses when the request arrives;
- scanner probes: one SYN; a SYN-ACK and the scanner's RST when the port is open (2|4 = 6 inbound).

Traffic AWS does not log (flowlogs.md §3.4: Amazon DNS, metadata, time sync, DHCP, ...) is dropped
here, before it costs anything.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from vpcflow.capture.paths import FlowPath, Interface
from vpcflow.capture.records import FIN, RST, SYN, SYN_ACK, US, Capture, Trains
from vpcflow.capture.scenario import Background, Connection, Scenario, ServiceCall

SYN_RETRY_OFFSETS = (0, 1, 3, 7, 15, 31, 63)
EPHEMERAL = (32768, 60999)  # Linux net.ipv4.ip_local_port_range
NAT_PORTS = (1024, 65535)  # "NAT gateways use ports 1024-65535"
SYN_BYTES, RST_BYTES = 60, 40
# `aws s3 ls`: one HTTPS exchange of about a second (TLS handshake, request, listing).
CLI_REQUEST = dict(duration=1.0, rate=10.0, bytes=180, response_rate=12.0, response_bytes=700)


class PathFinder(Protocol):
    """What the traffic generator asks of the network: a reachability engine seen through paths.py."""

    def interfaces(self) -> list[Interface]: ...

    def address_of(self, name: str) -> str:
        """An instance id, ENI id or address -> the address traffic from or to it uses."""

    def resolve(self, source: str, name: str, region: str | None = None) -> str:
        """A host name (or `service:s3`) as `source` resolves it in its VPC."""

    def public_targets(self) -> list[tuple[str, str]]:
        """(ENI id, public address) of every ENI reachable from the internet by address."""

    def is_unlogged(self, source: str, destination: str, protocol: int, port: int) -> bool: ...

    def path(self, source: str, destination: str, protocol: int, port: int, source_port: int) -> FlowPath: ...


@dataclass
class TrafficBuilder:
    """Accumulates trains for a capture; paths are cached by (source, destination, protocol, ports)."""

    finder: PathFinder
    capture: Capture
    horizon_us: int
    rng: np.random.Generator
    columns: dict[str, list] = field(default_factory=lambda: {c: [] for c in Trains.COLUMNS})
    cache: dict[tuple, int] = field(default_factory=dict)
    skipped: int = 0  # connections AWS would not log

    def path_id(self, source: str, destination: str, protocol: int, port: int, source_port: int) -> int:
        key = (source, destination, protocol, port, source_port)
        found = self.cache.get(key)
        if found is None:
            found = self.capture.add_path(self.finder.path(source, destination, protocol, port, source_port))
            self.cache[key] = found
        return found

    flows: dict[tuple, int] = field(default_factory=dict)

    def train(self, path, leg, t0, interval, count, size, first=0, last=0, each=0, ports=(0, 0, 0)) -> None:
        if t0 >= self.horizon_us or count <= 0:
            return
        flow = self.flows.setdefault((path, ports[0], ports[2]), len(self.flows))
        interval = max(int(interval), 1)
        fits = (self.horizon_us - 1 - t0) // interval + 1
        if fits < count:  # the scenario ends first: the connection has not closed yet
            count, last = fits, 0
        for name, value in zip(
            Trains.COLUMNS,
            (path, leg, t0, interval, count, size, first, last, each, *ports, flow),
            strict=True,
        ):
            self.columns[name].append(value)

    def trains(self) -> Trains:
        return (
            Trains.build(**{k: np.array(v) for k, v in self.columns.items()})
            if self.columns["path"]
            else Trains.concat([])
        )

    # -- one connection ------------------------------------------------------------------------

    def connection(self, source: str, destination: str | None, protocol: int, port: int, sport: int, t0_s: float,
                   duration: float, rate: float, size: float, rrate: float, rsize: float, keep: bool = False) -> None:  # fmt: skip
        if destination is None or self.finder.is_unlogged(source, destination, protocol, port):
            self.skipped += 1
            return
        p = self.path_id(source, destination, protocol, port, sport)
        path = self.capture.paths[p]
        nat_port = int(self.rng.integers(*NAT_PORTS, endpoint=True))
        ports = (sport, port, path.nat_port if path.nat_port is not None else nat_port)
        t0 = int(t0_s * US)
        n = max(2, round(duration * rate))
        m = max(2, round(duration * rrate))
        span = max(int(duration * US), 1)
        if protocol == 6:
            if keep and not path.completed:  # a client that keeps sending whatever happens
                self.train(p, 0, t0, _step(span, n), n, size, SYN, ports=ports)
                if path.delivered:
                    self.train(p, 1, t0, _step(span, m), m, rsize, SYN_ACK, ports=ports)
                return
            if path.completed:
                self.train(p, 0, t0, _step(span, n), n, size, SYN, FIN, ports=ports)
                self.train(p, 1, t0, _step(span, m), m, rsize, SYN_ACK, FIN, ports=ports)
                return
            for offset in SYN_RETRY_OFFSETS:
                self.train(p, 0, t0 + offset * US, 1, 1, SYN_BYTES, SYN, ports=ports)
                if path.delivered:
                    self.train(p, 1, t0 + offset * US, 1, 1, SYN_BYTES, SYN_ACK, ports=ports)
            return
        self.train(p, 0, t0, _step(span, n), n, size, ports=ports)
        if path.delivered:
            responses = n if protocol in (1, 58) else m  # a ping is answered packet for packet
            self.train(
                p,
                1,
                t0,
                _step(span, responses),
                responses,
                size if protocol in (1, 58) else rsize,
                ports=ports,
            )

    def probe(self, source: str, destination: str, protocol: int, port: int, sport: int, t_us: int) -> None:
        p = self.path_id(source, destination, protocol, port, sport)
        path = self.capture.paths[p]
        ports = (sport, port, 0)
        if protocol != 6:
            self.train(p, 0, t_us, 1, 1, 28 + 1, ports=ports)
            return
        self.train(p, 0, t_us, 1, 1, SYN_BYTES - 16, SYN, ports=ports)
        if path.delivered:
            self.train(p, 1, t_us, 1, 1, SYN_BYTES - 16, SYN_ACK, ports=ports)
        if path.completed:
            self.train(p, 0, t_us + 1, 1, 1, RST_BYTES, RST, ports=ports)


def _step(span_us: int, packets: int) -> int:
    """Microseconds between packets so that the last one falls at the end of the span, not before."""
    return -(-span_us // (packets - 1))


def build_traffic(scenario: Scenario, finder: PathFinder, capture: Capture) -> TrafficBuilder:
    """Every connection of the scenario as trains, deterministic for the scenario's seed."""
    rng = np.random.default_rng(scenario.seed)
    builder = TrafficBuilder(finder, capture, scenario.end * US, rng)
    for spec in scenario.connections:
        _connections(builder, scenario, spec)
    for call in scenario.service_calls:
        _service_calls(builder, scenario, call)
    for background in scenario.internet_background:
        _background(builder, scenario, background)
    return builder


def _occurrences(scenario: Scenario, start: float, every: float | None, count: int | None) -> list[float]:
    if every is None:
        return [start] if start < scenario.duration else []
    times = np.arange(start, scenario.duration, every)
    return times[:count].tolist() if count is not None else times.tolist()


def _connections(builder: TrafficBuilder, scenario: Scenario, spec: Connection) -> None:
    finder = builder.finder
    source = spec.source
    for t in _occurrences(scenario, spec.start, spec.every, spec.count):
        destination = (
            finder.resolve(spec.source, spec.destination)
            if not _is_resource(spec.destination)
            else finder.address_of(spec.destination)
        )
        sport = spec.source_port or int(builder.rng.integers(*EPHEMERAL, endpoint=True))
        if spec.protocol in (1, 58):
            sport = 0
        builder.connection(
            source, destination, spec.protocol, spec.port if spec.protocol not in (1, 58) else 0, sport,
            scenario.begin + t, spec.duration, spec.rate, spec.bytes,
            spec.response_rate or spec.rate, spec.response_bytes or spec.bytes, spec.on_reject == "keep",
        )  # fmt: skip


def _service_calls(builder: TrafficBuilder, scenario: Scenario, call: ServiceCall) -> None:
    finder = builder.finder
    for t in _occurrences(scenario, call.start, call.every, call.count):
        # the CLI first asks the Amazon DNS server (never logged), then opens one HTTPS connection
        builder.connection(call.source, "169.254.169.253", 17, 53, 0, scenario.begin + t, 0.01, 1, 80, 1, 200)
        dns = finder.resolve(call.source, f"service:{call.service}", call.region)
        sport = int(builder.rng.integers(*EPHEMERAL, endpoint=True))
        builder.connection(call.source, dns, 6, 443, sport, scenario.begin + t + 0.05, **_cli())


def _cli() -> dict:
    c = CLI_REQUEST
    return dict(
        duration=c["duration"],
        rate=c["rate"],
        size=c["bytes"],
        rrate=c["response_rate"],
        rsize=c["response_bytes"],
    )


def _background(builder: TrafficBuilder, scenario: Scenario, spec: Background) -> None:
    finder, rng = builder.finder, builder.rng
    sources = list(spec.source) + random_public_addresses(rng, spec.random)
    if spec.targets == "public":
        targets = [address for _eni, address in finder.public_targets()]
    else:
        targets = [finder.address_of(t) for t in spec.targets]
    if not targets or not sources:
        return
    begin = spec.start
    end = scenario.duration if spec.duration is None else min(scenario.duration, begin + spec.duration)
    probes = int(rng.poisson(max(end - begin, 0) * spec.rate))
    times = np.sort(rng.uniform(begin, end, probes))
    who = rng.integers(0, len(sources), probes)
    where = rng.integers(0, len(targets), probes)
    ports = np.asarray(spec.ports)[rng.integers(0, len(spec.ports), probes)]
    # a scan tool keeps one source port per scan (masscan, nmap -sS): one per source here
    source_ports = rng.integers(1024, 65536, len(sources))
    t_us = ((scenario.begin + times) * US).astype(np.int64)
    for i in range(probes):
        s = int(who[i])
        builder.probe(
            sources[s],
            targets[int(where[i])],
            spec.protocol,
            int(ports[i]),
            int(source_ports[s]),
            int(t_us[i]),
        )


_NOT_GLOBAL = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/3",
)]  # fmt: skip


def random_public_addresses(rng: np.random.Generator, count: int) -> list[str]:
    """`count` distinct global unicast IPv4 addresses (no private, reserved or documentation ranges)."""
    out: list[str] = []
    seen: set[int] = set()
    while len(out) < count:
        for n in rng.integers(1 << 24, 224 << 24, max(8, 2 * (count - len(out)))).tolist():
            address = ipaddress.IPv4Address(n)
            if n in seen or any(address in net for net in _NOT_GLOBAL):
                continue
            seen.add(n)
            out.append(str(address))
            if len(out) == count:
                break
    return out


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_resource(text: str) -> bool:
    return _is_address(text) or text.split("-", 1)[0] in ("i", "eni", "nat", "vpce")
