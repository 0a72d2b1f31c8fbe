"""The committed sample set, examples/flowlogs/: two hours of a small VPC, as AWS would deliver them.

    python bench/generate.py --examples

A web server with two interfaces (a public one serving 80/443 to visitors, an app-tier one querying
a database), and the database's instance in a private subnet, which also backs up to S3 through a
gateway endpoint every 15 minutes. Scanners knock on closed ports of the public interface (22, 3389,
7766, 8088, 23, 445) and are REJECTed. Quiet minutes on the private interfaces give NODATA records.
Public addresses are documentation addresses (RFC 5737), except the S3 one.

Written: one S3 object per 5-minute window of a VPC flow log in the default format; one object of a
second flow log with AWS's own version 5 example format, under Hive-compatible hourly prefixes; and
`cloudwatch-export.txt`, a CloudWatch Logs export of the database interface's log stream (each line
the event time - the record's start - in ISO-8601, a space, the record; flowlogs.md §5.1). Unlike
bench/generate.py this is a plain Python loop: a few thousand records, told as a story.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bench.generate import ACCOUNT, AZS, REGION, render
from vpcflow.records.formats import ATHENA_V5_FORMAT, DEFAULT_FORMAT, LogFormat
from vpcflow.records.s3layout import build_key

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "flowlogs"
EXAMPLE_START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
V5_EXAMPLE_FORMAT = (  # the field order of AWS's own version 5 example (flowlogs.md §9.8)
    "${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${end} ${type} ${packets} "
    "${bytes} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${region} ${az-id} "
    "${sublocation-type} ${sublocation-id} ${action} ${tcp-flags} ${pkt-srcaddr} ${pkt-dstaddr} "
    "${pkt-src-aws-service} ${pkt-dst-aws-service} ${traffic-path} ${flow-direction} ${log-status}"
)
# (interface, address, subnet, instance): a web server's public and app-tier interfaces, a database
WEB = ("eni-0a1b2c3d4e5f60001", "10.0.1.25", "subnet-0a1b2c3d4e5f6a001", "i-0a1b2c3d4e5f60718")
WEB_APP = ("eni-0a1b2c3d4e5f60002", "10.0.2.25", "subnet-0a1b2c3d4e5f6a002", "i-0a1b2c3d4e5f60718")
DB = ("eni-0a1b2c3d4e5f60003", "10.0.2.40", "subnet-0a1b2c3d4e5f6a002", "i-0f9e8d7c6b5a40321")
# Documentation addresses (RFC 5737) for people on the internet; an S3 address for the backups.
CLIENTS = [f"198.51.100.{i}" for i in range(10, 40)] + [f"203.0.113.{i}" for i in range(20, 35)]
SCANNERS = ["192.0.2.7", "192.0.2.45", "192.0.2.101", "192.0.2.133", "203.0.113.250"]
SCANNED = (22, 3389, 7766, 8088, 23, 445)
S3_ADDRESS = "52.218.48.102"


def example_rows(seed: int = 7, hours: int = 2) -> list[dict]:
    """Two hours of the sample VPC, one dict per record (every v5 column), in time order."""
    rng = random.Random(seed)
    rows: list[dict] = []

    def record(eni, src, dst, sport, dport, proto, packets, size, t, a, b, *, action="ACCEPT", flags=0,
               egress, pkt=None, service=(None, None), path=None, status="OK"):  # fmt: skip
        interface, _, subnet, instance = eni
        flow = status == "OK"
        rows.append({
            "account_id": ACCOUNT, "interface_id": interface, "srcaddr": src, "dstaddr": dst,
            "srcport": sport, "dstport": dport, "protocol": proto, "packets": packets,
            "bytes": packets * size if flow else None, "start": t + a, "end": t + b,
            "action": action if flow else None, "log_status": status, "vpc_id": "vpc-0e5f1a2b3c4d5e6f7",
            "subnet_id": subnet, "instance_id": instance, "tcp_flags": flags if flow else None,
            "type": "IPv4" if flow else None, "pkt_srcaddr": (pkt or (src, dst))[0], "pkt_dstaddr": (pkt or (src, dst))[1],
            "region": REGION, "az_id": AZS[0], "sublocation_type": None, "sublocation_id": None,
            "pkt_src_aws_service": service[0], "pkt_dst_aws_service": service[1],
            "flow_direction": ("egress" if egress else "ingress") if flow else None,
            "traffic_path": path if flow and egress else None,
        })  # fmt: skip

    def conversation(eni, here, there, here_port, there_port, t, *, outbound, proto=6, big=False, **extra):
        """Both directions of one connection as seen on `eni`: the request's and the reply's records."""
        a = rng.randrange(0, 50)
        b = rng.randrange(a, 60)
        ask, answer = rng.randrange(3, 20), rng.randrange(4, 80 if big else 20)
        first, second = (2, 18) if a < 40 else (0, 0)
        if proto != 6:
            first = second = 0
        service = extra.pop("service", None)
        path = extra.pop("path", None)
        if outbound:
            record(eni, here, there, here_port, there_port, proto, ask, rng.randrange(60, 600), t, a, b, flags=first,
                   egress=True, service=(None, service), path=path)  # fmt: skip
            record(eni, there, here, there_port, here_port, proto, answer, rng.randrange(200, 1400), t, a, b,
                   flags=second, egress=False, service=(service, None))  # fmt: skip
        else:
            record(eni, there, here, there_port, here_port, proto, ask, rng.randrange(60, 600), t, a, b, flags=first,
                   egress=False)  # fmt: skip
            record(eni, here, there, here_port, there_port, proto, answer, rng.randrange(200, 1400), t, a, b,
                   flags=second, egress=True, path=8 if eni is WEB else 1)  # fmt: skip

    begin = int(EXAMPLE_START.timestamp())
    for t in range(begin, begin + hours * 3600, 60):
        for _ in range(rng.randrange(2, 9)):  # visitors of the web site
            port = 443 if rng.random() < 0.85 else 80
            conversation(
                WEB,
                WEB[1],
                rng.choice(CLIENTS),
                port,
                rng.randrange(32768, 61000),
                t,
                outbound=False,
                big=True,
            )
        if rng.random() < 0.05:
            client = rng.choice(CLIENTS)
            conversation(WEB, WEB[1], client, 0, 0, t, outbound=False, proto=1)  # ping
        queries = rng.randrange(0, 4)
        for _ in range(queries):  # the web server's queries to the database, seen on both interfaces
            port = rng.randrange(32768, 61000)
            state = rng.getstate()
            conversation(WEB_APP, WEB_APP[1], DB[1], port, 5432, t, outbound=True, path=1)
            rng.setstate(state)  # the same flow, so the same counts, on the database's interface
            conversation(DB, DB[1], WEB_APP[1], 5432, port, t, outbound=False)
        if (t - begin) % 900 == 0:  # a backup to S3 every 15 minutes, through the gateway endpoint
            conversation(
                DB,
                DB[1],
                S3_ADDRESS,
                rng.randrange(32768, 61000),
                443,
                t,
                outbound=True,
                service="S3",
                path=7,
            )
        elif not queries:
            for eni in (WEB_APP, DB):
                record(eni, None, None, None, None, None, None, 0, t, 1, 58, egress=False, status="NODATA")
        if rng.random() < 0.35:  # scanners knocking on closed ports of the public interface
            scanner = rng.choice(SCANNERS)
            sweep = SCANNED if rng.random() < 0.15 else rng.sample(SCANNED, rng.randrange(1, 3))
            for port in sweep:
                a = rng.randrange(0, 60)
                record(WEB, scanner, WEB[1], rng.randrange(40000, 65000), port, 6, rng.randrange(1, 3), 44, t, a, a,
                       action="REJECT", flags=2, egress=False)  # fmt: skip
    return sorted(rows, key=lambda r: (r["end"], r["start"], r["interface_id"]))


def write_sample_set(out_dir: str | Path = EXAMPLES, seed: int = 7) -> list[Path]:
    """Write the committed sample set: S3 objects of a VPC flow log (default format) for two hours,
    one object of a second flow log with AWS's version 5 example format (Hive-compatible, hourly
    prefixes), and a CloudWatch Logs export of the database's interface."""
    out_dir = Path(out_dir)
    rows = example_rows(seed)
    table = pa.Table.from_pylist(rows, schema=LogFormat.parse(ATHENA_V5_FORMAT).schema.remove(0))
    windows = table["end"].to_numpy()
    windows = windows - windows % 300
    paths = []

    def write(fmt: LogFormat, part: pa.Table, key) -> None:
        part = part.add_column(0, "version", pa.array(np.full(part.num_rows, fmt.version, np.int32)))
        path = out_dir / key.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(part, fmt))
        paths.append(path)

    default = LogFormat.parse(DEFAULT_FORMAT)
    for window in np.unique(windows):
        part = table.filter(pa.array(windows == window))
        write(default, part, build_key(ACCOUNT, REGION, "fl-0a1b2c3d4e5f67890", int(window)))
    first = int(windows.min())
    part = table.filter(pa.array(windows == first))
    v5 = LogFormat.parse(V5_EXAMPLE_FORMAT)
    write(v5, part, build_key(ACCOUNT, REGION, "fl-0f1e2d3c4b5a69788", first, hive=True, hourly=True))

    db = table.filter(pc.equal(table["interface_id"], DB[0])).slice(0, 200)
    db = db.add_column(0, "version", pa.array(np.full(db.num_rows, 2, np.int32)))
    lines = render(db, default, header=False, gzip=False).decode().splitlines()
    stamps = [
        datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z") for s in db["start"].to_pylist()
    ]
    export = out_dir / "cloudwatch-export.txt"
    export.write_text(
        "".join(f"{s} {line}\n" for s, line in sorted(zip(stamps, lines, strict=True)))
    )  # ordered by event time
    return paths + [export]
