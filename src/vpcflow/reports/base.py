"""What every report shares: its options, its result, and the SQL helpers they build on.

A report is a module in `vpcflow.reports` with `NAME`, `TITLE`, `sql(source, options) -> str` (the
whole analysis as one DuckDB statement over `vpc_flow_logs`) and `run(source, options) -> Result`.
Keeping the analysis in one statement lets DuckDB plan it end to end, and lets the benchmark time
the report against hand-written SQL over the same files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from vpcflow.errors import VpcflowError
from vpcflow.reports.source import Period, Source, arrow

# The NAT gateway data processing price in us-east-1, USD per GB: "$0.045 per GB" in the pricing
# example of https://aws.amazon.com/vpc/pricing/ (read 2026-09-20 via a transcription of the page;
# the same figure in several 2026 guides). Other regions differ: pass --price.
NAT_PRICE_PER_GB = 0.045
# AWS bills data in GB without defining it on the pricing page; we use 2**30 bytes (what Cost
# Explorer's "GB" usage amounts match) and say so in the output.
BYTES_PER_GB = 1 << 30


class ReportError(VpcflowError):
    """A report asked for with options that cannot work: names the option and what would."""


@dataclass(frozen=True)
class Options:
    period: Period = field(default_factory=Period)
    top: int = 50  # rows per report (per bucket for top-talkers); 0 = all
    # scanners: Zeek's scan.zeek defaults (policy/misc/scan.zeek): 15 ports on one host, 25 hosts on
    # one port, within 5-minute tumbling windows.
    window: int = 300
    min_ports: int = 15
    min_hosts: int = 25
    bucket: int = 3600  # top-talkers time bucket, seconds; 0 = the whole period
    by: str = "pair"  # top-talkers: pair | eni
    rank_by: str = "bytes"  # top-talkers: bytes | packets
    ip_ranges: Path | None = None  # services, nat-savings
    price_per_gb: float = NAT_PRICE_PER_GB
    model: object | None = None  # vpcflow.network.Model, for explain / sg-suggest / nat-savings
    sample: int = 100  # explain: how many REJECT records


@dataclass
class Result:
    name: str
    title: str
    table: pa.Table
    notes: list[str] = field(default_factory=list)


def limit(options: Options) -> str:
    return f"LIMIT {int(options.top)}" if options.top and options.top > 0 else ""


def fetch(source: Source, sql: str) -> pa.Table:
    return arrow(source, sql)


# A record whose packets opened their connection (a request), not the answer to one. Flow logs do
# not say which side opened a connection, so this is our choice: TCP flags with SYN-ACK are a reply
# and with SYN alone a request (flowlogs.md §1.3: the flags of a record are those seen in its
# interval); otherwise (no `tcp-flags` in the format, a connection opened in an earlier interval,
# UDP, ICMP) a request goes to a port not above its source port, as clients use ephemeral ports.
# Used by scanners (probes) and sg-suggest (replies need no inbound rule: groups are stateful).
REQUEST = (
    "CASE WHEN tcp_flags & 18 = 18 THEN false WHEN tcp_flags & 2 = 2 THEN true "
    "ELSE coalesce(dstport, 0) <= coalesce(srcport, 0) END"
)

PROTOCOL_NAME = (
    "CASE protocol WHEN 6 THEN 'TCP' WHEN 17 THEN 'UDP' WHEN 1 THEN 'ICMP' WHEN 58 THEN 'ICMPv6' "
    "ELSE CAST(protocol AS VARCHAR) END"
)

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | int, *, option: str) -> int:
    """`300`, `5m`, `1h`, `1d` (and `0` for none) as seconds."""
    if isinstance(text, int):
        return text
    if text.strip().lower() in ("0", "none", "all"):
        return 0
    match = _DURATION.match(text.lower())
    if not match:
        raise ReportError(f"{option} {text!r}: not a duration; use seconds or 15m, 1h, 1d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def compact_ports(ports: list[int] | None, limit: int = 40) -> str:
    """`22, 80, 8000-8010` - runs folded, so a full port scan stays one readable line."""
    if not ports:
        return ""
    values = sorted(set(p for p in ports if p is not None))
    runs, start, prev = [], values[0], values[0]
    for p in values[1:] + [None]:
        if p is not None and p == prev + 1:
            prev = p
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if p is not None:
            start = prev = p
    text = ", ".join(runs[:limit])
    return text + (f", ... ({len(runs) - limit} more runs)" if len(runs) > limit else "")
