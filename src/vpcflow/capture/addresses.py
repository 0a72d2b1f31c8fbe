"""Addresses as the capture needs them: interned to small ints, looked up in AWS's ranges, and the
addresses whose traffic AWS never logs.

Records carry address ids (int32) until the last moment, so that millions of records cost one string
per distinct address. `pkt-src-aws-service` / `pkt-dst-aws-service` come from a small table of AWS's
published ranges (abridged from https://ip-ranges.amazonaws.com/ip-ranges.json: the services and
Regions the example models use); `AwsRanges.from_ip_ranges_json` takes the whole published file.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa

# (prefix, region, service) rows as ip-ranges.json lists them: the same prefix appears under AMAZON
# and under its specific service. Abridged: S3, DynamoDB and EC2 in the Regions the examples use.
SHIPPED_RANGES: tuple[tuple[str, str, str], ...] = (
    ("52.216.0.0/15", "us-east-1", "S3"),
    ("54.231.0.0/17", "us-east-1", "S3"),
    ("3.5.0.0/19", "us-east-1", "S3"),
    ("16.182.0.0/16", "us-east-1", "S3"),
    ("52.218.0.0/17", "eu-west-1", "S3"),
    ("3.5.64.0/21", "eu-west-1", "S3"),
    ("3.5.72.0/23", "eu-west-1", "S3"),
    ("52.92.40.0/21", "eu-west-1", "S3"),
    ("3.5.134.0/23", "eu-central-1", "S3"),
    ("3.5.136.0/22", "eu-central-1", "S3"),
    ("52.95.128.0/21", "ap-southeast-2", "S3"),
    ("52.94.0.0/22", "us-east-1", "DYNAMODB"),
    ("52.119.224.0/20", "us-east-1", "DYNAMODB"),
    ("52.119.240.0/21", "eu-west-1", "DYNAMODB"),
    ("3.80.0.0/12", "us-east-1", "EC2"),
    ("54.144.0.0/14", "us-east-1", "EC2"),
    ("34.240.0.0/13", "eu-west-1", "EC2"),
    ("34.248.0.0/13", "eu-west-1", "EC2"),
    ("52.16.0.0/15", "eu-west-1", "EC2"),
    ("54.72.0.0/15", "eu-west-1", "EC2"),
    ("3.248.0.0/13", "eu-west-1", "EC2"),
    ("13.54.0.0/15", "ap-southeast-2", "EC2"),
)

# Traffic to or from these is never logged (flowlogs.md §3.4): instance metadata, Amazon Time Sync,
# the Route 53 Resolver's link-local address, and Windows license activation (AWS KMS servers for
# Windows sit at 169.254.169.250/251); and their IPv6 forms on Nitro.
UNLOGGED_ADDRESSES = frozenset({
    "169.254.169.254", "169.254.169.123", "169.254.169.253", "169.254.169.250", "169.254.169.251",
    "fd00:ec2::254", "fd00:ec2::123", "fd00:ec2::253",
})  # fmt: skip
DHCP_PORTS = frozenset({67, 68, 546, 547})


@dataclass(frozen=True)
class AwsRanges:
    """Sorted, non-overlapping IPv4 intervals, each with the most specific service that covers it."""

    starts: np.ndarray  # uint64, sorted
    ends: np.ndarray  # uint64, inclusive
    services: tuple[str, ...]

    @classmethod
    def from_rows(cls, rows) -> AwsRanges:
        """From (prefix, region, service) rows. Where a prefix is listed under AMAZON and a specific
        service, the specific one wins ("pkt-src-aws-service will only show one of the AWS service
        code" for overlapped ranges; AWS does not say which - we choose the most specific)."""
        nets = []
        for prefix, _region, service in rows:
            net = ipaddress.ip_network(prefix, strict=False)
            if net.version == 4:
                nets.append((int(net.network_address), int(net.broadcast_address), net.prefixlen, service))
        # paint wider prefixes first so narrower ones and non-AMAZON services overwrite them
        nets.sort(key=lambda n: (n[2], n[3] != "AMAZON"))
        bounds = sorted({n[0] for n in nets} | {n[1] + 1 for n in nets})
        owner: list[str | None] = [None] * len(bounds)
        index = {b: i for i, b in enumerate(bounds)}
        for start, end, _plen, service in nets:
            for i in range(index[start], index[end + 1]):
                owner[i] = service
        starts, ends, services = [], [], []
        for i, service in enumerate(owner[:-1]):
            if service is not None:
                starts.append(bounds[i])
                ends.append(bounds[i + 1] - 1)
                services.append(service)
        return cls(np.array(starts, dtype=np.uint64), np.array(ends, dtype=np.uint64), tuple(services))

    @classmethod
    def shipped(cls) -> AwsRanges:
        return cls.from_rows(SHIPPED_RANGES)

    @classmethod
    def from_ip_ranges_json(cls, path: str | Path) -> AwsRanges:
        data = json.loads(Path(path).read_text())
        return cls.from_rows(
            (p["ip_prefix"], p.get("region", ""), p["service"]) for p in data.get("prefixes", [])
        )

    def service_of(self, numbers: np.ndarray) -> list[str | None]:
        """The service of each IPv4 address given as an integer (None when not an AWS address)."""
        numbers = np.asarray(numbers, dtype=np.uint64)
        at = np.searchsorted(self.starts, numbers, side="right") - 1
        found = (at >= 0) & (numbers <= self.ends[np.clip(at, 0, None)] if len(self.ends) else False)
        return [
            self.services[i] if ok else None
            for i, ok in zip(at.tolist(), np.atleast_1d(found).tolist(), strict=True)
        ]

    def prefixes_of(self, service: str) -> list[str]:
        out = []
        for start, end, name in zip(self.starts.tolist(), self.ends.tolist(), self.services, strict=True):
            if name == service:
                out += [
                    str(n)
                    for n in ipaddress.summarize_address_range(
                        ipaddress.IPv4Address(start), ipaddress.IPv4Address(end)
                    )
                ]
        return out


class AddressBook:
    """Every address the simulation uses, interned: id -> text, IP version, AWS service."""

    def __init__(self, ranges: AwsRanges | None = None):
        self.ranges = ranges or AwsRanges.shipped()
        self._ids: dict[str, int] = {}
        self._texts: list[str] = []

    def id(self, address: str) -> int:
        found = self._ids.get(address)
        if found is None:
            canonical = str(ipaddress.ip_address(address))
            found = self._ids.get(canonical)
            if found is None:
                found = len(self._texts)
                self._texts.append(canonical)
                self._ids[canonical] = found
                self.__dict__.pop("table", None)
            self._ids[address] = found
        return found

    def ids(self, addresses) -> np.ndarray:
        return np.fromiter((self.id(a) for a in addresses), dtype=np.int32)

    def ids_of_ints(self, numbers: np.ndarray) -> np.ndarray:
        """Ids of IPv4 addresses given as integers (e.g. random scanner addresses), vectorised."""
        unique, inverse = np.unique(np.asarray(numbers, dtype=np.uint32), return_inverse=True)
        ids = np.array([self.id(str(ipaddress.IPv4Address(int(n)))) for n in unique], dtype=np.int32)
        return ids[inverse]

    def text(self, address_id: int) -> str:
        return self._texts[address_id]

    def __len__(self) -> int:
        return len(self._texts)

    @cached_property
    def table(self) -> _AddressTable:
        return _AddressTable.build(self._texts, self.ranges)


@dataclass(frozen=True)
class _AddressTable:
    """Arrow arrays indexed by address id: built once, taken from per record."""

    text: pa.Array
    ip_type: pa.Array  # "IPv4" | "IPv6"
    service: pa.Array  # AWS service or null; only public addresses are looked up

    @classmethod
    def build(cls, texts: list[str], ranges: AwsRanges) -> _AddressTable:
        parsed = [ipaddress.ip_address(t) for t in texts]
        v4 = [a for a in parsed if a.version == 4 and a.is_global]
        services = (
            dict(zip(v4, ranges.service_of(np.array([int(a) for a in v4], dtype=np.uint64)), strict=True))
            if v4
            else {}
        )
        return cls(
            pa.array(texts, pa.string()),
            pa.array(["IPv4" if a.version == 4 else "IPv6" for a in parsed], pa.string()),
            pa.array([services.get(a) for a in parsed], pa.string()),
        )


def is_unlogged(address: str) -> bool:
    return address in UNLOGGED_ADDRESSES
