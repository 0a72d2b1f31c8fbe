"""Seeded, vectorised generator of realistic flow logs, written as AWS writes them to S3.

    python bench/generate.py OUT_DIR [--records 10000000] [--seed 1] [--log-format '${version} ...']
    python bench/generate.py --examples            # rewrites the committed sample set, examples/flowlogs/

Each object is one 5-minute window of one flow log, under the key `vpcflow.records.s3layout` builds:
a header line (the format's field names), then one record per line, single spaces, '-' for a value
that is absent or not applicable (flowlogs.md §2.3), gzip-compressed with ISA-L. Records are built a
column at a time with numpy and Arrow (no Python loop per record) and written with Arrow's CSV writer,
not with vpcflow's own writer, so the reader's tests and benchmarks do not read back what vpcflow wrote.

The traffic: a VPC of a few hundred interfaces (instances, NAT gateways, load balancers, ECS tasks,
interface endpoints) in 10.0.0.0/16 over three AZs; instances calling public services (some of them
AWS addresses, with their ip-ranges service names); web servers answering public clients; east-west
traffic (databases, caches, DNS); scanners whose probes of 22, 3389, 7766, 8088 ... are REJECTed;
some IPv6; NODATA and SKIPDATA records. Every record lies in a 60 s aggregation interval. Values are
valid for every field of the catalog (v2-v10, and the Transit Gateway fields), so any format works.

Choices where AWS is silent: `tcp-flags` is 0 for UDP and ICMP; `resource-id` is always '-' (AWS does
not document it); `reject-reason` is BPA on a few rejected probes and '-' otherwise.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from isal import igzip

from vpcflow.records.formats import DEFAULT_FORMAT, LogFormat
from vpcflow.records.s3layout import build_key

if not __package__:  # run as a script: make `bench` importable for the sample set
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ACCOUNT = "123456789012"
REGION = "eu-west-1"
AZS = ("euw1-az1", "euw1-az2", "euw1-az3")
START = datetime(2026, 11, 24, tzinfo=UTC)
FLOW_LOG_ID = "fl-0123456789abcdef0"
RECORDS_PER_FILE = 250_000  # ~7 MB gzip, ~28 MB of text: well inside AWS's 75 MB per file
# First octets of AWS's public ranges (ip-ranges.json) and the services we name for them.
AWS_OCTETS = (3, 13, 18, 34, 35, 44, 52, 54)
AWS_SERVICES = ("AMAZON", "S3", "EC2", "DYNAMODB", "CLOUDFRONT", "ROUTE53_HEALTHCHECKS")
OTHER_OCTETS = (23, 31, 45, 62, 77, 89, 91, 104, 142, 151, 185, 193, 194, 212, 217)
SCAN_PORTS = (22, 3389, 7766, 8088, 23, 445, 5900, 1433, 3306, 6379, 9200, 80, 443, 8080)
_TEXT = pacsv.WriteOptions(include_header=False, delimiter=" ", quoting_style="none", null_string="-")

# Traffic categories and their shares of the records.
CLIENT, SERVER, EAST_WEST, SCAN, UDP_OUT, ICMP = range(6)
SHARES = (0.50, 0.18, 0.18, 0.08, 0.04, 0.02)


def _hex_ids(rng: np.random.Generator, prefix: str, count: int, width: int = 17) -> list[str]:
    return [prefix + "".join(f"{d:x}" for d in row) for row in rng.integers(0, 16, (count, width))]


def dotted(addresses: np.ndarray) -> pa.Array:
    """IPv4 addresses (uint32) as dotted strings, vectorised."""
    octets = [pc.cast(pa.array((addresses >> s) & 255), pa.string()) for s in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*octets, ".")


def _public(rng: np.random.Generator, octets: tuple[int, ...], count: int) -> np.ndarray:
    first = np.asarray(octets, np.uint64)[rng.integers(0, len(octets), count)]
    return (first << 24) + rng.integers(0, 1 << 24, count).astype(np.uint64)


@dataclass(frozen=True)
class Site:
    """The simulated VPC and the internet around it: lookup tables that records index into.

    Addresses of every kind sit in one Arrow string array, `addresses`, so a record's source and
    destination are integer indexes, and a column is one `take`.
    """

    enis: int
    eni_ids: pa.Array
    eni_subnet: np.ndarray  # subnet index (0-11; 0-2 public); AZ = subnet % 3
    eni_kind: np.ndarray  # 0 instance, 1 NAT gateway, 2 load balancer, 3 ECS task, 4 interface endpoint
    public_enis: np.ndarray  # ENIs reachable from the internet (public subnets)
    web_enis: np.ndarray
    subnet_ids: pa.Array
    instance_ids: pa.Array  # per ENI; null for requester-managed interfaces
    ecs: dict[str, pa.Array]  # per ENI; null where the ENI is not an ECS task's
    addresses: pa.Array  # [eni v4 | public peers v4 | scanners v4 | eni v6 | peers v6]
    service_code: np.ndarray  # per address: index into AWS_SERVICES, -1 when not an AWS address
    service: pa.Array  # per address: its AWS service name, or null
    peers: int
    scanners: int
    vpc_id: str
    tgw: dict[str, pa.Array]

    def eni_v4(self, eni):
        return eni

    def peer_v4(self, peer):
        return self.enis + peer

    def scanner_v4(self, scanner):
        return self.enis + self.peers + scanner

    def eni_v6(self, eni):
        return self.enis + self.peers + self.scanners + eni

    def peer_v6(self, peer):
        return 2 * self.enis + self.peers + self.scanners + peer % self.peers


def build_site(seed: int = 1, enis: int = 300, peers: int = 20_000, scanners: int = 150) -> Site:
    rng = np.random.default_rng([seed, 0xC0FFEE])
    index = np.arange(enis)
    kind = np.select(
        [index % 50 == 1, index % 25 == 2, index % 10 == 7, index % 100 == 99], [1, 2, 3, 4], default=0
    )
    subnet = np.where(np.isin(kind, [1, 2]), index % 3, rng.integers(0, 12, enis))
    public = np.flatnonzero(subnet < 3)
    eni_v4 = (10 << 24) + subnet.astype(np.uint64) * 4096 + 10 + index.astype(np.uint64)
    peer_v4 = np.concatenate(
        [_public(rng, AWS_OCTETS, peers // 3), _public(rng, OTHER_OCTETS, peers - peers // 3)]
    )
    scan_v4 = _public(rng, OTHER_OCTETS, scanners)
    eni_v6 = [
        f"2a05:d018:{0x1C00 + s:x}:{s:x}00:{i:x}:{v:x}::1"
        for i, (s, v) in enumerate(zip(subnet, rng.integers(1, 1 << 16, enis), strict=True))
    ]
    peer_v6 = [f"2600:{a:x}:{b:x}::{c:x}" for a, b, c in rng.integers(1, 1 << 16, (peers, 3))]
    addresses = pa.concat_arrays(
        [dotted(eni_v4), dotted(peer_v4), dotted(scan_v4), pa.array(eni_v6), pa.array(peer_v6)]
    )
    aws_peer = np.arange(peers) < peers // 3
    aws = np.concatenate([np.zeros(enis, bool), aws_peer, np.zeros(scanners + enis, bool), aws_peer])
    code = np.where(aws, rng.integers(0, len(AWS_SERVICES), len(aws)), -1)
    service = pa.array(AWS_SERVICES).take(pa.array(code, mask=code < 0))

    instance = np.array(_hex_ids(rng, "i-", enis), dtype=object)
    instance[np.isin(kind, [1, 2, 4])] = None  # NAT gateways, load balancers, endpoints: requester-managed
    ecs = _ecs_columns(rng, enis, kind == 3)
    tgw = _tgw_pools(rng)
    return Site(
        enis=enis, eni_ids=pa.array(_hex_ids(rng, "eni-", enis)), eni_subnet=subnet, eni_kind=kind,
        public_enis=public, web_enis=public[kind[public] == 0], subnet_ids=pa.array(_hex_ids(rng, "subnet-", 12)),
        instance_ids=pa.array(instance, pa.string()), ecs=ecs, addresses=addresses, service_code=code,
        service=service, peers=peers, scanners=scanners, vpc_id=_hex_ids(rng, "vpc-", 1)[0], tgw=tgw,
    )  # fmt: skip


def _ecs_columns(rng: np.random.Generator, enis: int, task: np.ndarray) -> dict[str, pa.Array]:
    """Per-ENI ECS metadata (v7 fields): only task ENIs have it; Fargate tasks have no container instance."""
    prefix = f"arn:aws:ecs:{REGION}:{ACCOUNT}"
    clusters = ["web", "batch"]
    cluster = rng.integers(0, 2, enis)
    fargate = rng.random(enis) < 0.5
    task_id = _hex_ids(rng, "", enis, 32)
    ci_id = _hex_ids(rng, "", enis, 32)
    container = _hex_ids(rng, "", enis, 64)
    second = _hex_ids(rng, "", enis, 64)
    has_second = rng.random(enis) < 0.4
    service = rng.random(enis) < 0.8

    def column(values, present=None):
        present = task if present is None else task & present
        return pa.array([v if p else None for v, p in zip(values, present, strict=True)], pa.string())

    return {
        "ecs_cluster_arn": column([f"{prefix}:cluster/{clusters[c]}" for c in cluster]),
        "ecs_cluster_name": column([clusters[c] for c in cluster]),
        "ecs_container_instance_arn": column([f"{prefix}:container-instance/{clusters[c]}/{i}" for c, i in zip(cluster, ci_id, strict=True)], ~fargate),
        "ecs_container_instance_id": column(ci_id, ~fargate),
        "ecs_container_id": column(container),
        "ecs_second_container_id": column(second, has_second),
        "ecs_service_name": column([f"{clusters[c]}-svc" for c in cluster], service),
        "ecs_task_definition_arn": column([f"{prefix}:task-definition/{clusters[c]}-task:{1 + c * 3}" for c in cluster]),
        "ecs_task_arn": column([f"{prefix}:task/{clusters[c]}/{t}" for c, t in zip(cluster, task_id, strict=True)]),
        "ecs_task_id": column(task_id),
    }  # fmt: skip


def _tgw_pools(rng: np.random.Generator) -> dict[str, pa.Array]:
    """Six VPC attachments of one transit gateway (v6 fields), as lookup tables by attachment."""
    n = 6
    accounts = [ACCOUNT, "210987654321", "345678901234"]
    return {
        "tgw_id": pa.array(_hex_ids(rng, "tgw-", 1) * n),
        "attachment": pa.array(_hex_ids(rng, "tgw-attach-", n)),
        "account": pa.array([accounts[i % 3] for i in range(n)]),
        "vpc": pa.array(_hex_ids(rng, "vpc-", n)),
        "subnet": pa.array(_hex_ids(rng, "subnet-", n)),
        "eni": pa.array(_hex_ids(rng, "eni-", n)),
        "az": pa.array([AZS[i % 3] for i in range(n)]),
    }


def flow_records(n: int, rng: np.random.Generator, window_start: int, fmt: LogFormat, site: Site) -> pa.Table:
    """`n` records of format `fmt` whose `end` times fall in the 5-minute window at `window_start`."""
    category = rng.choice(len(SHARES), n, p=SHARES)
    status = rng.choice(3, n, p=[0.995, 0.0045, 0.0005])  # OK, NODATA, SKIPDATA
    flow = status == 0
    scan = category == SCAN
    eni = rng.integers(0, site.enis, n)
    eni = np.where(scan, site.public_enis[rng.integers(0, len(site.public_enis), n)], eni)
    eni = np.where(category == SERVER, site.web_enis[rng.integers(0, len(site.web_enis), n)], eni)
    ipv6 = np.isin(category, [CLIENT, SERVER]) & (rng.random(n) < 0.03)
    # a NAT gateway's inside records: an instance reaching the internet through it (pkt-* differ)
    nat_inside = (site.eni_kind[eni] == 1) & (category == CLIENT) & ~ipv6 & (rng.random(n) < 0.5)
    # who started the connection, and whether this record is its reply direction
    remote_started = np.isin(category, [SERVER, SCAN]) | nat_inside
    reply = (rng.random(n) < 0.45) & ~scan
    egress = remote_started == reply

    peer = (rng.zipf(1.3, n) - 1) % site.peers  # a few public peers get most of the traffic
    other_eni = rng.integers(0, site.enis, n)
    local = np.where(ipv6, site.eni_v6(eni), site.eni_v4(eni))
    remote = np.select(
        [category == EAST_WEST, scan, ipv6, nat_inside],
        [
            site.eni_v4(other_eni), site.scanner_v4(rng.integers(0, site.scanners, n)), site.peer_v6(peer),
            site.eni_v4(other_eni),
        ],
        default=site.peer_v4(peer),
    )  # fmt: skip
    pkt_local = np.where(nat_inside, site.peer_v4(peer), local)

    service_port = np.select(
        [category == CLIENT, category == SERVER, category == EAST_WEST, scan, category == UDP_OUT],
        [
            rng.choice([443, 80], n, p=[0.85, 0.15]),
            rng.choice([443, 80], n, p=[0.8, 0.2]),
            rng.choice([5432, 6379, 443, 8080, 53], n, p=[0.3, 0.2, 0.25, 0.15, 0.1]),
            np.asarray(SCAN_PORTS)[rng.integers(0, len(SCAN_PORTS), n)],
            rng.choice([123, 53, 500], n),
        ],
        default=0,
    )
    protocol = np.select([category == ICMP, (category == UDP_OUT) | (service_port == 53)], [1, 17], default=6)
    # the initiator's port: Linux's ephemeral range, or Windows' for a fifth of the hosts
    ephemeral = np.where(rng.random(n) < 0.8, rng.integers(32768, 61000, n), rng.integers(49152, 65536, n))
    local_port = np.where(remote_started, service_port, ephemeral)
    remote_port = np.where(remote_started, ephemeral, service_port)
    icmp = protocol == 1
    local_port, remote_port = np.where(icmp, 0, local_port), np.where(icmp, 0, remote_port)

    # probes of closed ports are rejected by the security group; of a web server's 80/443, accepted
    reject = np.where(scan, ~np.isin(service_port, [80, 443]), rng.random(n) < 0.01)
    packets = np.where(scan, rng.integers(1, 3, n), 1 + rng.lognormal(1.5, 1.4, n).astype(np.int64))
    size = np.select(
        [scan, protocol == 17, icmp],
        [rng.integers(40, 61, n), rng.integers(60, 513, n), 84],
        default=rng.integers(52, 1500, n),
    )
    first_flags = rng.choice([2, 3, 0, 1, 4], n, p=[0.4, 0.1, 0.35, 0.12, 0.03])
    reply_flags = rng.choice([18, 19, 0, 1, 4], n, p=[0.45, 0.1, 0.3, 0.12, 0.03])
    tcp_flags = np.where(protocol != 6, 0, np.where(scan, 2, np.where(reply, reply_flags, first_flags)))

    interval = window_start + 60 * rng.integers(0, 5, n)  # 60 s aggregation intervals
    a, b = rng.integers(0, 60, n), rng.integers(0, 60, n)
    start, end = interval + np.minimum(a, b), interval + np.maximum(a, b)
    start = np.where(flow, start, interval + rng.integers(0, 3, n))
    end = np.where(flow, end, interval + 59 - rng.integers(0, 3, n))

    # egress path: from a public subnet to the internet, the internet gateway (8); from a private
    # subnet, the NAT gateway (1, another resource in the VPC) or, to S3 and DynamoDB, the gateway
    # endpoint (7); inside the VPC, 1
    public_remote = remote >= site.enis
    gateway_service = np.isin(
        site.service_code[remote], [AWS_SERVICES.index("S3"), AWS_SERVICES.index("DYNAMODB")]
    )
    private_subnet = site.eni_subnet[eni] >= 3
    path = np.select([public_remote & ~private_subnet, public_remote & gateway_service], [8, 7], default=1)
    encryption = np.select(
        [category == EAST_WEST, service_port == 443], [np.where(service_port == 443, 3, 1), 2], default=0
    )

    src, dst = np.where(egress, local, remote), np.where(egress, remote, local)
    pkt_src, pkt_dst = np.where(egress, pkt_local, remote), np.where(egress, remote, pkt_local)
    src_port, dst_port = np.where(egress, local_port, remote_port), np.where(egress, remote_port, local_port)
    no_flow = ~flow

    def flow_field(values, typ=None, mask=no_flow):
        return pa.array(values, typ, mask=mask)

    def addr(index, mask=no_flow):
        return site.addresses.take(pa.array(index, pa.int64(), mask=mask))

    subnet = site.eni_subnet[eni]
    build = {
        "version": lambda: pa.array(np.full(n, fmt.version, np.int32)),
        "account_id": lambda: pa.array(np.where(site.eni_kind[eni] == 4, "unknown", ACCOUNT)),
        "interface_id": lambda: site.eni_ids.take(pa.array(eni)),
        "srcaddr": lambda: addr(src),
        "dstaddr": lambda: addr(dst),
        "srcport": lambda: flow_field(src_port, pa.int32()),
        "dstport": lambda: flow_field(dst_port, pa.int32()),
        "protocol": lambda: flow_field(protocol, pa.int64()),
        "packets": lambda: flow_field(packets, pa.int64()),
        "bytes": lambda: flow_field(packets * size, pa.int64()),
        "start": lambda: pa.array(start, pa.int64()),
        "end": lambda: pa.array(end, pa.int64()),
        "action": lambda: pa.array(np.where(reject, "REJECT", "ACCEPT"), mask=no_flow),
        "log_status": lambda: pa.array(np.array(["OK", "NODATA", "SKIPDATA"])[status]),
        "vpc_id": lambda: pa.array(np.full(n, site.vpc_id)),
        "subnet_id": lambda: site.subnet_ids.take(pa.array(subnet)),
        "instance_id": lambda: site.instance_ids.take(pa.array(eni)),
        "tcp_flags": lambda: flow_field(tcp_flags, pa.int32()),
        "type": lambda: pa.array(np.where(ipv6, "IPv6", "IPv4"), mask=no_flow),
        "pkt_srcaddr": lambda: addr(pkt_src),
        "pkt_dstaddr": lambda: addr(pkt_dst),
        "region": lambda: pa.array(np.full(n, REGION)),
        "az_id": lambda: pa.array(np.asarray(AZS)[subnet % 3]),
        "sublocation_type": lambda: pa.nulls(n, pa.string()),
        "sublocation_id": lambda: pa.nulls(n, pa.string()),
        "pkt_src_aws_service": lambda: site.service.take(pa.array(pkt_src, mask=no_flow)),
        "pkt_dst_aws_service": lambda: site.service.take(pa.array(pkt_dst, mask=no_flow)),
        "flow_direction": lambda: pa.array(np.where(egress, "egress", "ingress"), mask=no_flow),
        "traffic_path": lambda: flow_field(path, pa.int32(), no_flow | ~egress),
        "reject_reason": lambda: pa.array(
            np.full(n, "BPA"), mask=~(flow & reject & scan & (rng.random(n) < 0.03))
        ),
        "resource_id": lambda: pa.nulls(n, pa.string()),
        "encryption_status": lambda: flow_field(encryption, pa.int32()),
    }
    build.update({name: (lambda c=column: c.take(pa.array(eni))) for name, column in site.ecs.items()})
    if fmt.family == "tgw":
        build.update(_tgw_columns(n, rng, site, no_flow))
    return pa.table({f.column: build[f.column]() for f in fmt.fields})


def _tgw_columns(n, rng, site, no_flow):
    pools = site.tgw
    src, dst = rng.integers(0, 6, n), rng.integers(0, 6, n)
    dst = np.where(dst == src, (dst + 1) % 6, dst)
    lost = np.where(rng.random(n) < 0.01, rng.integers(1, 20, n), 0)

    def pick(pool, index):
        return pools[pool].take(pa.array(index))

    columns = {
        "resource_type": lambda: pa.array(
            np.where(rng.random(n) < 0.7, "TransitGateway", "TransitGatewayAttachment")
        ),
        "tgw_id": lambda: pick("tgw_id", src),
        "tgw_attachment_id": lambda: pick("attachment", src),
        "tgw_src_vpc_account_id": lambda: pick("account", src),
        "tgw_dst_vpc_account_id": lambda: pick("account", dst),
        "tgw_src_vpc_id": lambda: pick("vpc", src),
        "tgw_dst_vpc_id": lambda: pick("vpc", dst),
        "tgw_src_subnet_id": lambda: pick("subnet", src),
        "tgw_dst_subnet_id": lambda: pick("subnet", dst),
        "tgw_src_eni": lambda: pick("eni", src),
        "tgw_dst_eni": lambda: pick("eni", dst),
        "tgw_src_az_id": lambda: pick("az", src),
        "tgw_dst_az_id": lambda: pick("az", dst),
        "tgw_pair_attachment_id": lambda: pick("attachment", dst),
    }
    for i, name in enumerate(("no_route", "blackhole", "mtu_exceeded", "ttl_expired")):
        columns[f"packets_lost_{name}"] = lambda i=i: pa.array(
            np.where(rng.integers(0, 4, n) == i, lost, 0), pa.int64(), mask=no_flow
        )
    return columns


def render(table: pa.Table, fmt: LogFormat, *, header: bool = True, gzip: bool = True) -> bytes:
    """The bytes of an S3 text object: header, records, '-' for nulls; gzip with mtime 0 (reproducible)."""
    buf = io.BytesIO()
    if header:
        buf.write(fmt.header.encode() + b"\n")
    if table.num_rows:
        pacsv.write_csv(table.select(fmt.columns), buf, _TEXT)
    data = buf.getvalue()
    return igzip.compress(data, compresslevel=1, mtime=0) if gzip else data


def generate(
    out_dir: str | Path,
    records: int = 10_000_000,
    seed: int = 1,
    log_format: str = DEFAULT_FORMAT,
    files: int | None = None,
    gzip: bool = True,
    start: datetime = START,
    *,
    flow_log_id: str = FLOW_LOG_ID,
    hive: bool = False,
    hourly: bool = False,
    threads: int = 2,
) -> list[Path]:
    """Write `records` records in `files` objects (one 5-minute window each) under `out_dir`.

    `out_dir` is the bucket: keys start `AWSLogs/`. The same arguments always write the same bytes,
    whatever `threads` is. Without gzip the objects are plain text named `.log` (not an AWS name).
    """
    fmt = LogFormat.parse(log_format)
    files = files or max(1, math.ceil(records / RECORDS_PER_FILE))
    site = build_site(seed)
    seeds = np.random.SeedSequence(seed).spawn(files)
    first = int(start.timestamp()) - int(start.timestamp()) % 300

    def write(i: int) -> Path:
        n = records // files + (i < records % files)
        window = first + 300 * i
        key = build_key(ACCOUNT, REGION, flow_log_id, window, hive=hive, hourly=hourly)
        path = Path(out_dir) / (key.key if gzip else key.key.removesuffix(".gz"))
        path.parent.mkdir(parents=True, exist_ok=True)
        table = flow_records(n, np.random.default_rng(seeds[i]), window, fmt, site)
        path.write_bytes(render(table, fmt, gzip=gzip))
        return path

    with ThreadPoolExecutor(max(1, threads)) as pool:
        return list(pool.map(write, range(files)))


def generate_examples(out_dir: str | Path | None = None, seed: int = 7) -> list[Path]:
    """Rewrite the committed sample set (examples/flowlogs/); see bench/sample_set.py."""
    from bench.sample_set import EXAMPLES, write_sample_set

    return write_sample_set(out_dir or EXAMPLES, seed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-format", default=DEFAULT_FORMAT)
    parser.add_argument(
        "--files", type=int, help=f"objects to write (default: one per {RECORDS_PER_FILE:,} records)"
    )
    parser.add_argument("--no-gzip", action="store_true", help="plain text objects named .log")
    parser.add_argument("--hive", action="store_true", help="Hive-compatible S3 prefixes")
    parser.add_argument("--hourly", action="store_true", help="hourly partitions")
    parser.add_argument(
        "--examples", action="store_true", help="rewrite the sample set in examples/flowlogs/"
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    if args.examples:
        paths = generate_examples(args.out_dir)
        print(f"{len(paths)} files under {paths[-1].parent} in {time.perf_counter() - t0:.1f} s")
        return
    if args.out_dir is None:
        parser.error("OUT_DIR is required (or --examples)")
    paths = generate(
        args.out_dir, args.records, args.seed, args.log_format, args.files, not args.no_gzip,
        hive=args.hive, hourly=args.hourly,
    )  # fmt: skip
    print(
        f"{args.records:,} records in {len(paths)} files under {args.out_dir} in {time.perf_counter() - t0:.1f} s"
    )


if __name__ == "__main__":
    main()
