"""Route selection in one route table, as AWS documents it (spec vpc.md §1.2, §1.5).

1. Longest prefix wins; a prefix-list route competes with each CIDR of its list.
2. On equal prefixes: static CIDR route > prefix-list route > propagated route.
3. Two prefix-list routes with the same CIDR to different targets: AWS picks one at random and
   sticks to it. **Choice:** the route listed first wins, and the choice is flagged `ambiguous`.
4. A winning route in state `blackhole` drops the packet. **Choice** (AWS is silent): a blackholed
   more-specific route is not skipped in favour of a less specific active one.

Each table is compiled once per model into buckets by (IP version, prefix length), so a lookup is
one dict probe per prefix length present in the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

from vpcflow.network.model import Route, RouteOrigin
from vpcflow.network.store import Model

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

STATIC, PREFIX_LIST, PROPAGATED = 0, 1, 2
_PRIORITY_NAMES = {STATIC: "static route", PREFIX_LIST: "prefix-list route", PROPAGATED: "propagated route"}


@dataclass(frozen=True)
class Candidate:
    route: Route
    cidr: Network  # the CIDR that matched (a prefix-list entry for prefix-list routes)
    priority: int

    @property
    def label(self) -> str:
        via = (
            f" (entry {self.cidr} of {self.route.destination_prefix_list_id})"
            if self.route.destination_prefix_list_id
            else ""
        )
        return f"{self.route.destination}{via} -> {self.route.target}"


@dataclass(frozen=True)
class RouteChoice:
    """The route a packet to `destination` takes in `route_table_id`, and why."""

    route_table_id: str
    destination: Address
    winner: Candidate | None
    others: tuple[Candidate, ...] = ()  # matching routes that lost (less specific or lower priority)
    ambiguous: bool = False

    @property
    def route(self) -> Route | None:
        return self.winner.route if self.winner else None

    @property
    def reason(self) -> str:
        if self.winner is None:
            return f"no route in {self.route_table_id} matches {self.destination}"
        win = self.winner
        text = f"{win.label}: longest matching prefix /{win.cidr.prefixlen}"
        tied = [c for c in self.others if c.cidr.prefixlen == win.cidr.prefixlen]
        if tied:
            text += f"; on equal prefixes a {_PRIORITY_NAMES[win.priority]} beats a {_PRIORITY_NAMES[tied[0].priority]} ({tied[0].label})"
        shorter = [c for c in self.others if c.cidr.prefixlen < win.cidr.prefixlen]
        if shorter:
            text += f"; more specific than {', '.join(c.label for c in shorter)}"
        if self.ambiguous:
            text += "; AWS picks randomly between overlapping prefix-list routes to different targets (the first listed is shown)"
        return text


@dataclass
class CompiledTable:
    route_table_id: str
    buckets: dict[tuple[int, int], dict[int, list[Candidate]]] = field(default_factory=dict)
    lengths: dict[int, list[int]] = field(default_factory=dict)  # version -> prefix lengths, longest first

    def add(self, cand: Candidate) -> None:
        key = (cand.cidr.version, cand.cidr.prefixlen)
        self.buckets.setdefault(key, {}).setdefault(int(cand.cidr.network_address), []).append(cand)

    def finish(self) -> None:
        for version, length in self.buckets:
            self.lengths.setdefault(version, []).append(length)
        for v in self.lengths:
            self.lengths[v].sort(reverse=True)
        for bucket in self.buckets.values():
            for cands in bucket.values():
                cands.sort(key=lambda c: c.priority)  # stable: listing order within a priority

    def lookup(self, destination: Address) -> RouteChoice:
        bits = 32 if destination.version == 4 else 128
        value = int(destination)
        matches: list[Candidate] = []
        for length in self.lengths.get(destination.version, ()):
            mask = ((1 << length) - 1) << (bits - length) if length else 0
            cands = self.buckets[(destination.version, length)].get(value & mask)
            if cands:
                matches.extend(cands)
        if not matches:
            return RouteChoice(self.route_table_id, destination, None)
        winner = matches[0]
        ambiguous = any(
            c.cidr.prefixlen == winner.cidr.prefixlen
            and c.priority == winner.priority == PREFIX_LIST
            and c.route.target != winner.route.target
            for c in matches[1:]
        )
        return RouteChoice(self.route_table_id, destination, winner, tuple(matches[1:]), ambiguous)


def _priority(route: Route) -> int:
    if route.origin is RouteOrigin.propagated:
        return PROPAGATED
    return PREFIX_LIST if route.destination_prefix_list_id else STATIC


def compile_table(model: Model, route_table_id: str) -> CompiledTable:
    key = ("route-table", route_table_id)
    compiled = model.cache.get(key)
    if compiled is None:
        compiled = CompiledTable(route_table_id)
        for route in model.routes_of(route_table_id):
            if route.destination_prefix_list_id:
                pl = model.prefix_list(route.destination_prefix_list_id)
                for cidr in pl.cidrs if pl else ():
                    compiled.add(Candidate(route, ip_network(cidr), _priority(route)))
            elif route.destination_cidr is not None:
                compiled.add(Candidate(route, route.destination_cidr, _priority(route)))
        compiled.finish()
        model.cache[key] = compiled
    return compiled


def route_for(model: Model, route_table_id: str, destination: Address) -> RouteChoice:
    """The route `route_table_id` uses for `destination` (longest prefix, then priority)."""
    return compile_table(model, route_table_id).lookup(destination)
