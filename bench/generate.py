"""Seeded, vectorised generator of realistic flow logs in AWS's S3 layout.

    python bench/generate.py OUT_DIR --records 10000000 [--seed 1] [--log-format ...]

Columns are built as numpy/Arrow arrays (no Python loop per record) and written with vpcflow's own
AWS text writer, one gzip object per 5-minute window, under keys built by `vpcflow.records.s3layout`.
Values are plausible for every field of every version, so any custom format can be generated.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vpcflow.records.formats import DEFAULT_FORMAT, LogFormat  # noqa: I001
from vpcflow.records.s3layout import build_key
from vpcflow.records.writer import write_text

ACCOUNT = "123456789012"
REGION = "eu-west-1"
START = datetime(2026, 11, 24, tzinfo=UTC)
SERVICES = ["S3", "EC2", "DYNAMODB", "AMAZON"]


def dotted(addresses: np.ndarray) -> pa.Array:
    """IPv4 addresses (uint32) as dotted strings, vectorised."""
    octets = [pc.cast(pa.array((addresses >> shift) & 255), pa.string()) for shift in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*octets, ".")


def _ids(prefix: str, count: int, width: int = 17) -> pa.Array:
    return pa.array([f"{prefix}{i:0{width}x}" for i in range(count)])


def records(n: int, rng: np.random.Generator, window_start: int, fmt: LogFormat, enis: int = 300) -> pa.Table:
    """`n` records whose end times fall in the 5-minute window starting at `window_start`."""
    eni = rng.integers(0, enis, n)
    private = (10 << 24) + eni * 7 + 10  # each ENI's primary private address in 10.0.0.0/16
    public_peer = rng.integers(0, 5000, n) * 104729 % (1 << 24) + (52 << 24)  # a pool of public peers
    private_peer = (10 << 24) + rng.integers(0, enis, n) * 7 + 10
    peer = np.where(rng.random(n) < 0.7, public_peer, private_peer)
    egress = rng.random(n) < 0.5
    src = np.where(egress, private, peer)
    dst = np.where(egress, peer, private)
    protocol = rng.choice(np.array([6, 17, 1]), n, p=[0.85, 0.12, 0.03])
    service_port = rng.choice(np.array([443, 80, 22, 3389, 53, 5432, 8088, 7766]), n, p=[0.55, 0.15, 0.08, 0.05, 0.07, 0.04, 0.03, 0.03])
    ephemeral = rng.integers(32768, 61000, n)
    srcport = np.where(egress, ephemeral, service_port)
    dstport = np.where(egress, service_port, ephemeral)
    icmp = protocol == 1
    srcport, dstport = np.where(icmp, 0, srcport), np.where(icmp, 0, dstport)
    packets = rng.geometric(0.05, n)
    bytes_ = packets * rng.integers(40, 1500, n)
    end = window_start + rng.integers(0, 300, n)
    start = end - rng.integers(0, 60, n)
    reject = rng.random(n) < 0.08
    nodata = rng.random(n) < 0.005
    tcp_flags = rng.choice(np.array([0, 2, 18, 3, 19, 1, 4]), n)

    def masked(values, typ, mask=nodata):
        return pa.array(values, typ, mask=mask)

    subnet = eni // 25
    columns = {
        "version": pa.array(np.full(n, fmt.version, np.int32)),
        "account_id": pa.array(np.full(n, ACCOUNT)),
        "interface_id": _ids("eni-", enis).take(pa.array(eni)),
        "srcaddr": pc.if_else(pa.array(nodata), None, dotted(src)),
        "dstaddr": pc.if_else(pa.array(nodata), None, dotted(dst)),
        "srcport": masked(srcport.astype(np.int32), pa.int32()),
        "dstport": masked(dstport.astype(np.int32), pa.int32()),
        "protocol": masked(protocol.astype(np.int64), pa.int64()),
        "packets": masked(packets.astype(np.int64), pa.int64()),
        "bytes": masked(bytes_.astype(np.int64), pa.int64()),
        "start": pa.array(start.astype(np.int64)),
        "end": pa.array(end.astype(np.int64)),
        "action": pc.if_else(pa.array(nodata), None, pa.array(np.where(reject, "REJECT", "ACCEPT"))),
        "log_status": pa.array(np.where(nodata, "NODATA", "OK")),
        "vpc_id": pa.array(np.full(n, "vpc-0a1b2c3d4e5f67890")),
        "subnet_id": _ids("subnet-", 16).take(pa.array(subnet)),
        "instance_id": pa.array(np.where(eni % 20 == 0, None, np.char.add("i-", np.char.zfill(eni.astype(str), 17)))),
        "tcp_flags": masked(tcp_flags.astype(np.int32), pa.int32(), nodata | (protocol != 6)),
        "type": pa.array(np.full(n, "IPv4")),
        "pkt_srcaddr": pc.if_else(pa.array(nodata), None, dotted(src)),
        "pkt_dstaddr": pc.if_else(pa.array(nodata), None, dotted(dst)),
        "region": pa.array(np.full(n, REGION)),
        "az_id": pa.array(np.where(subnet % 2 == 0, "euw1-az1", "euw1-az2")),
        "sublocation_type": pa.nulls(n, pa.string()),
        "sublocation_id": pa.nulls(n, pa.string()),
        "pkt_src_aws_service": pa.array(np.where(~egress & (peer >= 52 << 24), rng.choice(SERVICES, n), None)),
        "pkt_dst_aws_service": pa.array(np.where(egress & (peer >= 52 << 24), rng.choice(SERVICES, n), None)),
        "flow_direction": pa.array(np.where(egress, "egress", "ingress")),
        "traffic_path": masked(rng.choice(np.array([1, 2, 8]), n).astype(np.int32), pa.int32(), ~egress | nodata),
        "reject_reason": pa.nulls(n, pa.string()),
        "resource_id": pa.nulls(n, pa.string()),
        "encryption_status": masked(np.where(service_port == 443, 2, 0).astype(np.int32), pa.int32()),
    }
    columns.update({f.column: pa.nulls(n, pa.string()) for f in fmt.fields if f.token.startswith("ecs-")})
    missing = [f.token for f in fmt.fields if f.column not in columns]
    if missing:
        raise ValueError(f"the generator does not make {missing}")
    return pa.table({f.column: columns[f.column] for f in fmt.fields})


def generate(
    out_dir: str | Path,
    records_total: int = 10_000_000,
    seed: int = 1,
    log_format: str = DEFAULT_FORMAT,
    records_per_file: int = 250_000,
    start: datetime = START,
    flow_log_id: str = "fl-0123456789abcdef0",
    hive: bool = False,
) -> list[Path]:
    """Write `records_total` records as gzip text objects in the S3 layout; returns the paths."""
    fmt = LogFormat.parse(log_format)
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    paths, written, window = [], 0, int(start.timestamp())
    while written < records_total:
        n = min(records_per_file, records_total - written)
        key = build_key(ACCOUNT, REGION, flow_log_id, window, hive=hive)
        path = out_dir / key.key
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(records(n, rng, window, fmt), path, fmt)
        paths.append(path)
        written += n
        window += 300
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-format", default=DEFAULT_FORMAT)
    parser.add_argument("--records-per-file", type=int, default=250_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    paths = generate(args.out_dir, args.records, args.seed, args.log_format, args.records_per_file)
    print(f"{args.records:,} records in {len(paths)} files under {args.out_dir} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
