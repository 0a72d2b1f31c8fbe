"""Every report on a lake of N records, against the same analysis hand-written in DuckDB SQL, in one run.

    python bench/bench_reports.py [--records 100000000] [--days 7] [--repeat 1]
    python bench/bench_reports.py --traffic site     # bench/generate.py's VPC, through `vpcflow ingest`

The lake is written once per size under bench/data/reports-N/ (seeded numpy, written with pyarrow
in the lake's layout: Hive partitions by account, region and day, every `vpc_schema()` column, the
absent ones null). Traffic: random private and public addresses, rejects, a few port scanners and
sweepers, NAT gateway legs to S3 and DynamoDB with packet-level addresses.

Peers, measured in the same process on the same files, after one warm-up of each:
- vpcflow: `vpcflow.reports.run_report(name, open_lake(lake), Options(...))`, what
  `vpcflow report NAME --lake DIR` runs (enrichment included).
- hand SQL: one statement per report written directly over `read_parquet(...)` the way a DuckDB user
  would, with the same enrichment tables (owner blocks, AWS prefixes) as plain joins.
explain and sg-suggest run with a model (bench_reach.py's seeded VPC, its interfaces named as the lake's);
their hand SQL is only their query (the model's rule evaluation has no SQL equivalent).
Prints seconds for each and vpcflow / hand (target: within 1.5x; under 10 s at 100M records).

--traffic site: a second lake, for comparison: bench/generate.py's simulated VPC (300 interfaces,
20,000 internet peers, 150 scanners; the traffic model of the read benchmarks) writes the records
as AWS's S3 objects, one 5-minute window each over the same days, with a v5 format, and `vpcflow
ingest` makes the lake from them, as a user would (bench/data/reports-site-N/). Its pairs repeat
as a VPC's do (about a third of an hour's records are distinct pairs, against almost all in the
default lake). explain and sg-suggest run with bench_reach.py's seeded groups and ACLs laid over
that VPC's own interfaces and subnets (site_model).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.bench_reach import generate as generate_vpc  # noqa: E402
from bench.bench_reach import load as load_vpc  # noqa: E402
from bench.generate import build_site  # noqa: E402
from vpcflow.records.catalog import vpc_schema  # noqa: E402
from vpcflow.reports import Options, enrich, open_lake, run_report  # noqa: E402
from vpcflow.reports.enrich import aws_ranges  # noqa: E402

T0 = 1_764_000_000  # 2025-11-24T16:00:00Z
ACCOUNT, REGION = "123456789012", "eu-west-1"
FILE_ROWS = 2_000_000
SCANNERS = np.array([f"185.220.101.{i}" for i in range(1, 21)])


def _ips(prefix_first: np.ndarray, prefix_second: np.ndarray, rng, n) -> np.ndarray:
    a, b = rng.choice(prefix_first, n), rng.choice(prefix_second, n)
    c, d = rng.integers(0, 256, n), rng.integers(1, 255, n)
    return np.char.add(
        np.char.add(np.char.add(np.char.add(a.astype(str), "."), b.astype(str)), "."),
        np.char.add(np.char.add(c.astype(str), "."), d.astype(str)),
    )


def make_batch(n: int, day_start: int, rng: np.random.Generator) -> pa.Table:
    private = np.char.add(
        "10.0.",
        np.char.add(
            rng.integers(0, 40, n).astype(str), np.char.add(".", rng.integers(1, 255, n).astype(str))
        ),
    )
    public = _ips(np.array([133, 87, 193, 8, 1, 45, 185, 91, 103, 200]), np.arange(0, 256), rng, n)
    s3 = np.char.add(
        "52.218.",
        np.char.add(
            rng.integers(0, 128, n).astype(str), np.char.add(".", rng.integers(1, 255, n).astype(str))
        ),
    )
    kind = rng.random(n)
    inbound = kind < 0.45
    src = np.where(inbound, public, private)
    dst = np.where(inbound, private, np.where(kind < 0.9, public, s3))
    dport = np.where(
        inbound,
        rng.choice(np.array([22, 80, 443, 3389, 23, 8080]), n),
        rng.choice(np.array([443, 80, 53]), n),
    )
    sport = rng.integers(1024, 65535, n)
    # Scanners: one in a thousand records comes from one of 20 scanners, each busy in one burst of
    # four minutes a day: the first 15 walk ports of one host each (vertical), the last 5 sweep
    # port 22 across the hosts (horizontal). Hundreds of tries a burst: findings at the defaults.
    scan = rng.random(n) < 0.001
    who = rng.integers(0, 20, n)
    sweeper = who >= 15
    src = np.where(scan, SCANNERS[who], src)
    dst = np.where(scan & ~sweeper, np.char.add("10.0.0.", (who + 10).astype(str)), dst)
    dport = np.where(scan & sweeper, 22, np.where(scan, rng.integers(1, 1024, n), dport))
    inbound = inbound | scan
    start = day_start + rng.integers(0, 86_340, n)
    start = np.where(scan, day_start + (who * 4_271) % 86_000 + rng.integers(0, 240, n), start)
    nat = (kind >= 0.9) & (rng.random(n) < 0.5) & ~scan
    eni = np.where(
        nat,
        "eni-0ffff0000000000aa",
        np.char.add("eni-0a1b2c3d4e5f6", rng.integers(1000, 1200, n).astype(str)),
    )
    columns = {
        "version": pa.array(np.full(n, 5, np.int32)),
        "account_id": pa.array(np.full(n, ACCOUNT)),
        "interface_id": pa.array(eni),
        "srcaddr": pa.array(np.where(nat, "10.0.0.220", src)),
        "dstaddr": pa.array(dst),
        "srcport": pa.array(sport.astype(np.int32)),
        "dstport": pa.array(dport.astype(np.int32)),
        "protocol": pa.array(rng.choice(np.array([6, 6, 6, 17, 1]), n).astype(np.int64)),
        "packets": pa.array(rng.integers(1, 200, n)),
        "bytes": pa.array(rng.integers(40, 2_000_000, n)),
        "start": pa.array(start),
        "end": pa.array(start + rng.integers(0, 60, n)),
        "action": pa.array(np.where(inbound & (rng.random(n) < 0.4) | scan, "REJECT", "ACCEPT")),
        "log_status": pa.array(np.full(n, "OK")),
        "pkt_srcaddr": pa.array(np.where(nat, "10.0.0.220", src)),
        "pkt_dstaddr": pa.array(dst),
        "region": pa.array(np.full(n, REGION)),
        "flow_direction": pa.array(np.where(inbound, "ingress", "egress")),
    }
    schema = vpc_schema()
    return pa.table(
        {f.name: columns.get(f.name, pa.nulls(n, f.type)).cast(f.type) for f in schema}, schema=schema
    )


def dataset(records: int, days: int) -> Path:
    root = HERE / "data" / f"reports-{records}"
    if (root / ".done").exists():
        return root
    rng = np.random.default_rng(6)
    per_day = records // days
    for day in range(days):
        day_start = T0 - T0 % 86400 + day * 86400
        when = time.gmtime(day_start)
        folder = (
            root
            / "vpc_flow_logs"
            / f"aws_account_id={ACCOUNT}"
            / f"aws_region={REGION}"
            / f"year={when.tm_year}"
            / f"month={when.tm_mon:02d}"
            / f"day={when.tm_mday:02d}"
        )
        folder.mkdir(parents=True, exist_ok=True)
        left, part = per_day + (records - per_day * days if day == days - 1 else 0), 0
        while left > 0:
            n = min(FILE_ROWS, left)
            pq.write_table(
                make_batch(n, day_start, rng),
                folder / f"part-{part}.parquet",
                compression="zstd",
                row_group_size=250_000,
            )
            left -= n
            part += 1
    (root / ".done").touch()
    return root


REPORTS = ["rejects", "scanners", "top-talkers", "services", "nat-savings", "explain", "sg-suggest"]
SITE_FORMAT = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} "
    "${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} "
    "${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${pkt-src-aws-service} "
    "${pkt-dst-aws-service} ${flow-direction} ${traffic-path}"
)


def site_dataset(records: int, days: int) -> Path:
    """The --traffic site lake: generate.py's objects ingested by vpcflow (both in subprocesses)."""
    root = HERE / "data" / f"reports-site-{records}"
    if not (root / ".done").exists():
        objects, lake = root / "objects", root / "lake"
        files = days * 288  # 5-minute windows
        subprocess.run(
            [sys.executable, str(HERE / "generate.py"), str(objects), "--records", str(records),
             "--files", str(files), "--log-format", SITE_FORMAT],
            check=True,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "vpcflow.cli", "ingest", str(objects), "--lake", str(lake)], check=True
        )
        (root / ".done").touch()
    return root / "lake"


def bench_model():
    """bench_reach.py's seeded VPC (10.0.0.0/16, the lake's private range) with 200 interfaces named
    as the lake's (eni-0a1b2c3d4e5f61000...1199), for explain and sg-suggest."""
    sections = generate_vpc(enis=200, subnets=40, groups=50, nacls=40, seed=1)
    rename = {f"eni-{e:04d}": f"eni-0a1b2c3d4e5f6{1000 + e}" for e in range(200)}
    for eni in sections["network_interfaces"]:
        eni["id"] = rename.get(eni["id"], eni["id"])
    for instance in sections["instances"]:
        instance["network_interface_ids"] = [rename.get(e, e) for e in instance["network_interface_ids"]]
    return load_vpc(sections)


def site_model():
    """bench_reach.py's seeded VPC laid over generate.py's simulated VPC (build_site, seed 1, as the
    site lake's objects were written): its 12 subnets are /20s as the site's addresses are, and its
    300 interfaces carry the site's ids, subnets, addresses and instances, so explain and
    sg-suggest judge the site lake's own interfaces against seeded groups and network ACLs."""
    site = build_site(1)
    sections = generate_vpc(enis=site.enis, subnets=12, groups=50, nacls=12, seed=1)
    for i, subnet in enumerate(sections["subnets"]):
        subnet["cidr_block"] = f"10.0.{16 * i}.0/20"
        subnet["ipv6_cidr_block"] = f"2a05:d018:{0x1C00 + i:x}:{i:x}00::/64"  # as generate.py's eni_v6
    sections["vpcs"][0]["ipv6_cidr_blocks"] = ["2a05:d018:1c00::/44"]  # wider than AWS's /56: the site's layout
    # the NAT gateway out of the site's addresses (10.0.16s.10 upwards)
    for item in sections["nat_gateways"] + [e for e in sections["network_interfaces"] if e["id"] == "eni-nat"]:
        item["private_ip"] = "10.0.15.250"
    ours = [e for e in sections["network_interfaces"] if e["id"] != "eni-nat"]
    addresses = site.addresses.slice(0, site.enis).to_pylist()
    instances = site.instance_ids.to_pylist()
    for e, eni in enumerate(ours):
        eni.update(
            id=site.eni_ids[e].as_py(),
            subnet_id=f"subnet-{int(site.eni_subnet[e]):03d}",
            private_ip=addresses[e],
            ipv6_addresses=[site.addresses[site.eni_v6(e)].as_py()],
            instance_id=instances[e],
        )
        if site.eni_subnet[e] >= 3:
            eni["public_ip"] = None  # only the public subnets' interfaces (0-2) have one
    sections["instances"] = [
        {"id": eni["instance_id"], "network_interface_ids": [eni["id"]]} for eni in ours if eni["instance_id"]
    ]
    return load_vpc(sections)


def hand_sql(files: str, enis: list[tuple[str, str]] = ()) -> dict[str, str]:
    """The same analyses as a DuckDB user would write them, over read_parquet and the same range tables."""
    # a request, not a reply (the reports' definition; a DuckDB user would write the same CASE)
    REQUEST = "CASE WHEN tcp_flags & 18 = 18 THEN false WHEN tcp_flags & 2 = 2 THEN true ELSE dstport <= srcport END"
    src = f"read_parquet('{files}')"
    return {
        "rejects": f"""
            WITH a AS (SELECT srcaddr, dstport, protocol, count(*) n, sum(packets) p, sum(bytes) b, min(start) s, max("end") e
                       FROM {src} WHERE action = 'REJECT' GROUP BY ALL ORDER BY n DESC, b DESC, srcaddr, dstport, protocol LIMIT 50)
            SELECT a.*, o.country, o.asn, o.owner FROM (SELECT *, vpcflow_ip_family(srcaddr) f, vpcflow_ip_number(srcaddr) x FROM a) a
            ASOF LEFT JOIN vpcflow_owners o ON a.f = o.family AND a.x >= o.start""",
        "scanners": f"""
            WITH p AS (SELECT srcaddr, dstaddr, dstport, start, "end", action, start // 300 * 300 w FROM {src}
                       WHERE coalesce(flow_direction, 'ingress') = 'ingress' AND (action = 'REJECT' OR {REQUEST})
                         AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL),
            t AS (SELECT DISTINCT srcaddr, w, dstaddr, dstport FROM p),
            v AS (SELECT srcaddr, w, max(n) mp FROM (SELECT srcaddr, w, dstaddr, count(*) n FROM t GROUP BY ALL) GROUP BY ALL),
            h AS (SELECT srcaddr, w, max(n) mh FROM (SELECT srcaddr, w, dstport, count(*) n FROM t GROUP BY ALL) GROUP BY ALL),
            f AS (SELECT * FROM v JOIN h USING (srcaddr, w) WHERE mp >= 15 OR mh >= 25)
            SELECT f.srcaddr, f.w, count(DISTINCT dstport), count(DISTINCT dstaddr), list(DISTINCT dstport), list(DISTINCT dstaddr),
                   count(*), min(start), max("end") FROM f JOIN p USING (srcaddr, w) GROUP BY ALL""",
        "top-talkers": f"""
            SELECT * FROM (SELECT start // 3600 * 3600 bucket, srcaddr, dstaddr, sum(bytes) b, sum(packets) p, count(*) n
                           FROM {src} GROUP BY ALL)
            QUALIFY row_number() OVER (PARTITION BY bucket ORDER BY b DESC, p DESC, srcaddr, dstaddr) <= 50""",
        "services": f"""
            WITH f AS (SELECT coalesce(pkt_srcaddr, srcaddr) s, coalesce(pkt_dstaddr, dstaddr) d, bytes, packets FROM {src}),
            a AS (SELECT d addr, 'to' dir, sum(bytes) b FROM f GROUP BY d UNION ALL SELECT s, 'from', sum(bytes) FROM f GROUP BY s),
            k AS (SELECT DISTINCT addr, vpcflow_ip_family(addr) fam, vpcflow_ip_number(addr) x FROM a),
            c AS (SELECT k.addr, r.service, r.region FROM k JOIN vpcflow_aws_ranges r ON k.fam = r.family AND k.x BETWEEN r.lo AND r.hi
                  QUALIFY row_number() OVER (PARTITION BY k.addr ORDER BY (r.service <> 'AMAZON') DESC, r.prefix_len DESC) = 1)
            SELECT service, region, dir, sum(b) FROM a JOIN c USING (addr) GROUP BY ALL""",
        "nat-savings": f"""
            WITH n AS (SELECT DISTINCT interface_id FROM {src} WHERE pkt_dstaddr <> dstaddr AND instance_id IS NULL
                         AND NOT starts_with(pkt_dstaddr, '10.')),
            l AS (SELECT interface_id, region, srcaddr, dstaddr, bytes FROM {src} WHERE interface_id IN (SELECT * FROM n)),
            k AS (SELECT DISTINCT addr, vpcflow_ip_family(addr) fam, vpcflow_ip_number(addr) x
                  FROM (SELECT srcaddr addr FROM l UNION ALL SELECT dstaddr FROM l)),
            c AS (SELECT k.addr, r.service, r.region FROM k JOIN vpcflow_aws_ranges r ON k.fam = r.family AND k.x BETWEEN r.lo AND r.hi
                  QUALIFY row_number() OVER (PARTITION BY k.addr ORDER BY (r.service <> 'AMAZON') DESC, r.prefix_len DESC) = 1)
            SELECT l.interface_id, coalesce(cd.service, cs.service) svc, sum(bytes), sum(bytes) / 2^30 * 0.045
            FROM l LEFT JOIN c cd ON l.dstaddr = cd.addr LEFT JOIN c cs ON l.srcaddr = cs.addr
            WHERE coalesce(cd.service, cs.service) IN ('S3', 'DYNAMODB') AND coalesce(cd.region, cs.region) = l.region
            GROUP BY ALL""",
        # explain and sg-suggest: their SQL part (the model's rule evaluation has no SQL equivalent).
        "explain": f"""
            SELECT interface_id, srcaddr, dstaddr, dstport, protocol, min(srcport), count(*) n, min(start), max("end")
            FROM {src} WHERE action = 'REJECT' AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL
            GROUP BY ALL ORDER BY n DESC, interface_id, srcaddr, dstaddr, dstport LIMIT 100""",
        "sg-suggest": f"""
            SELECT interface_id, protocol, dstport, srcaddr, dstaddr, count(*) FROM {src}
            WHERE action = 'ACCEPT' AND srcaddr IS NOT NULL AND coalesce(flow_direction, 'ingress') = 'ingress'
              AND {REQUEST}
              AND (interface_id, dstaddr) IN (SELECT (e, a) FROM (VALUES {", ".join(f"('{e}', '{a}')" for e, a in enis) or "(NULL, NULL)"}) t(e, a))
            GROUP BY ALL""",
    }


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument(
        "--repeat", type=int, default=1, help="timed runs per peer after a warm-up; the best is kept"
    )
    parser.add_argument("--reports", help="comma-separated (default: every report the lake can run)")
    parser.add_argument(
        "--traffic", choices=["worst", "site"], default="worst", help="which lake (see above; default worst)"
    )
    args = parser.parse_args()
    reports = args.reports or ",".join(REPORTS)

    t = time.perf_counter()
    site = args.traffic == "site"
    lake = site_dataset(args.records, args.days) if site else dataset(args.records, args.days)
    print(f"lake {lake} ({args.records:,} records) ready in {time.perf_counter() - t:.1f}s")
    source = open_lake(lake)
    con = source.con
    enrich.install(con, ip_ranges=aws_ranges.sample_path())
    files = str(lake / "vpc_flow_logs" / "*" / "*" / "*" / "*" / "*" / "*.parquet")
    model = site_model() if site else bench_model()
    own = sorted((e.id, str(a)) for e in model.network_interfaces if e.security_group_ids for a in e.addresses)
    hand = hand_sql(files, own)
    options = Options(ip_ranges=aws_ranges.sample_path())
    with_model = Options(ip_ranges=aws_ranges.sample_path(), model=model)  # nat-savings runs without

    print(f"{'report':<13} {'vpcflow s':>10} {'hand SQL s':>11} {'ratio':>7}")
    for name in reports.split(","):
        chosen = with_model if name in ("explain", "sg-suggest") else options
        run_ours = lambda name=name, chosen=chosen: run_report(name, source, chosen)  # noqa: E731
        run_hand = lambda name=name: con.sql(hand[name]).to_arrow_table()  # noqa: E731
        run_ours(), run_hand()  # warm-up: file metadata and page cache for both
        ours, theirs = timed(run_ours, args.repeat), timed(run_hand, args.repeat)
        print(f"{name:<13} {ours:>10.2f} {theirs:>11.2f} {ours / theirs:>6.2f}x", flush=True)


if __name__ == "__main__":
    main()
