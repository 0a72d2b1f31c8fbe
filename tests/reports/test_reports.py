"""Each report on a small seeded lake, against the same answer computed here in plain Python."""

from __future__ import annotations

import ipaddress
import json
import random
from collections import defaultdict
from datetime import UTC, datetime

import plevin
import pytest

from tests.reports.lakegen import flow, write_lake
from vpcflow.reports import Options, Period, open_lake, parse_time, run_report
from vpcflow.reports.enrich import aws_ranges, owners

T0 = 1_764_000_000  # 2025-11-24T16:00:00Z
NAT_ENI = "eni-0ffff0000000000aa"
NAT_IP = "10.0.0.220"
PUBLIC = ["133.11.0.1", "87.32.0.1", "193.99.144.80", "8.8.8.8", "1.1.1.1", "203.0.113.9"]
PRIVATE = [f"10.0.{i}.{j}" for i in range(3) for j in range(1, 8)]
S3_EU = ["52.218.1.1", "52.218.77.5"]
DDB_US = ["52.94.1.1"]


def build_records(seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for _ in range(1500):
        src, dst = rng.choice(PUBLIC + PRIVATE), rng.choice(PRIVATE)
        if rng.random() < 0.5:
            src, dst = dst, src
        sport, dport = rng.choice([rng.randint(1024, 65535), 443, 80]), rng.choice([22, 80, 443, 3389, 40000])
        start = T0 + rng.randint(0, 3 * 86400)
        records.append(
            flow(
                src,
                dst,
                sport,
                dport,
                action=rng.choice(["ACCEPT", "ACCEPT", "REJECT"]),
                proto=rng.choice([6, 6, 17]),
                packets=rng.randint(1, 50),
                bytes=rng.randint(40, 90_000),
                start=start,
                eni=f"eni-{rng.randint(1, 6):017x}",
                flow_direction=rng.choice([None, "ingress", "egress"]),
            )
        )
    # A vertical scan (40 ports of one host in one window) and a horizontal sweep (30 hosts on 23).
    for port in range(1000, 1040):
        records.append(
            flow("133.11.0.1", "10.0.1.1", 50000, port, action="REJECT", start=T0 + 7200 + port % 60)
        )
    for host in range(1, 31):
        records.append(
            flow("87.32.0.1", f"10.0.2.{host}", 50000, 23, action="REJECT", start=T0 + 9000 + host)
        )
    # NAT gateway legs (flowlogs.md §9.6) to S3 in its own region and to DynamoDB in another one.
    for i in range(20):
        remote = rng.choice(S3_EU + DDB_US)
        size = rng.randint(1000, 5_000_000)
        start = T0 + 3600 + i * 60
        pkt = {"instance_id": None}
        records += [
            flow(
                "10.0.1.5",
                NAT_IP,
                40000,
                443,
                eni=NAT_ENI,
                bytes=size,
                start=start,
                pkt_srcaddr="10.0.1.5",
                pkt_dstaddr=remote,
                **pkt,
            ),
            flow(
                NAT_IP,
                remote,
                40000,
                443,
                eni=NAT_ENI,
                bytes=size,
                start=start,
                pkt_srcaddr=NAT_IP,
                pkt_dstaddr=remote,
                **pkt,
            ),
            flow(
                remote,
                NAT_IP,
                443,
                40000,
                eni=NAT_ENI,
                bytes=2 * size,
                start=start,
                pkt_srcaddr=remote,
                pkt_dstaddr=NAT_IP,
                **pkt,
            ),
            flow(
                NAT_IP,
                "10.0.1.5",
                443,
                40000,
                eni=NAT_ENI,
                bytes=2 * size,
                start=start,
                pkt_srcaddr=remote,
                pkt_dstaddr="10.0.1.5",
                **pkt,
            ),
        ]
    return records


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    records = build_records()
    root = write_lake(tmp_path_factory.mktemp("lake"), records, files_per_partition=2)
    return root, records


def in_period(record, period: Period) -> bool:
    return (period.since is None or record["end"] >= period.since.timestamp()) and (
        period.until is None or record["end"] < period.until.timestamp()
    )


def registry(addr):
    network = plevin.Plevin(owners._data_path()).lookup(addr).network
    return (network.country or None, network.asn) if network else (None, None)


PERIODS = [
    Period(),
    Period(parse_time("2025-11-25", option="--since"), parse_time("2025-11-26T12:00Z", option="--until")),
]


@pytest.mark.parametrize("period", PERIODS, ids=["all", "window"])
def test_rejects(lake, period):
    root, records = lake
    expected = defaultdict(lambda: {"records": 0, "bytes": 0, "first": None, "last": None})
    for r in records:
        if r["action"] == "REJECT" and in_period(r, period):
            e = expected[(r["srcaddr"], r["dstport"], r["protocol"])]
            e["records"] += 1
            e["bytes"] += r["bytes"]
            e["first"] = min(e["first"] or r["start"], r["start"])
            e["last"] = max(e["last"] or r["end"], r["end"])
    ranked = sorted(expected.items(), key=lambda kv: (-kv[1]["records"], -kv[1]["bytes"], kv[0]))[:20]
    got = run_report("rejects", open_lake(root), Options(period=period, top=20)).table.to_pylist()
    assert [(g["source"], g["port"], g["records"], g["bytes"]) for g in got] == [
        (k[0], k[1], v["records"], v["bytes"]) for k, v in ranked
    ]
    for g, (_, v) in zip(got, ranked, strict=True):
        assert g["first_seen"] == datetime.fromtimestamp(v["first"], UTC)
        assert g["last_seen"] == datetime.fromtimestamp(v["last"], UTC)
        assert (g["country"], g["asn"]) == registry(g["source"])


def is_probe(r) -> bool:
    if r.get("flow_direction") == "egress":
        return False
    return r["action"] == "REJECT" or r["dstport"] <= r["srcport"]


@pytest.mark.parametrize("prefilter", [True, False], ids=["slot-count", "no-slot-count"])
def test_scanners(lake, prefilter, monkeypatch):
    from vpcflow.reports import scanners

    monkeypatch.setattr(scanners, "prefilter_pays", lambda source, options: prefilter)
    root, records = lake
    window, min_ports, min_hosts = 300, 15, 25
    tries = defaultdict(set)
    for r in records:
        if is_probe(r):
            tries[(r["srcaddr"], r["start"] // window * window)].add((r["dstaddr"], r["dstport"]))
    expected = {}
    for key, pairs in tries.items():
        per_host, per_port = defaultdict(set), defaultdict(set)
        for host, port in pairs:
            per_host[host].add(port)
            per_port[port].add(host)
        vertical = max(len(v) for v in per_host.values()) >= min_ports
        horizontal = max(len(v) for v in per_port.values()) >= min_hosts
        if vertical or horizontal:
            kind = "both" if vertical and horizontal else "vertical" if vertical else "horizontal"
            expected[key] = (kind, len({p for _, p in pairs}), len({h for h, _ in pairs}))
    got = run_report("scanners", open_lake(root), Options(top=0)).table.to_pylist()
    assert {
        (g["source"], int(g["window"].timestamp())): (g["kind"], g["ports"], g["targets"]) for g in got
    } == expected
    assert ("133.11.0.1", (T0 + 7200) // 300 * 300) in expected  # the planted scans are found
    vertical = next(g for g in got if g["source"] == "133.11.0.1")
    assert vertical["ports_tried"] == "1000-1039" and vertical["country"] == "JP"


@pytest.mark.parametrize("slots", [1, 2, 1 << 23])
def test_scanners_slot_prefilter_keeps_a_scan_at_exactly_the_threshold(tmp_path, monkeypatch, slots):
    """The sources are first counted by slots of their hash (any number of slots gives the same
    findings); a scan with exactly min_ports probes is found, one with one fewer is not."""
    from vpcflow.reports import scanners

    monkeypatch.setattr(scanners, "SLOTS", slots)
    at = T0 + 600
    records = [flow("198.51.100.7", "10.0.1.1", 50000, port, action="REJECT", start=at) for port in range(1, 16)]
    records += [flow("198.51.100.8", "10.0.1.2", 50000, port, action="REJECT", start=at) for port in range(1, 15)]
    root = write_lake(tmp_path, records)
    got = run_report("scanners", open_lake(root), Options(top=0, min_ports=15, min_hosts=25)).table.to_pylist()
    assert [(g["source"], g["kind"], g["ports"]) for g in got] == [("198.51.100.7", "vertical", 15)]


def test_scanners_tell_probes_by_their_tcp_flags(tmp_path):
    """A sweep sent from source port 53 (nmap's --source-port 53) to higher ports that a permissive
    group accepts: a request by its SYN flag, though its ports look like a reply's; without flags
    it cannot be told from DNS answers. SYN-ACKs to the same ports are replies."""
    at = T0 + 600

    def sweep(flags):
        return [
            flow("198.51.100.7", "10.0.0.71", 53, 1000 + i, tcp_flags=flags, flow_direction="ingress", start=at)
            for i in range(40)
        ]

    for flags, found in ((2, [("198.51.100.7", "vertical", 40)]), (None, []), (18, []), (19, [])):
        root = write_lake(tmp_path / str(flags), sweep(flags))
        got = run_report("scanners", open_lake(root), Options(top=0)).table.to_pylist()
        assert [(g["source"], g["kind"], g["ports"]) for g in got] == found, flags


def test_scanners_do_not_take_replies_for_probes(tmp_path):
    """Replies are ingress records too (AWS's example, flowlogs.md §9.8: S3 answering an instance
    from port 80 to its port 34210). S3 answering 40 connections of one instance, and a web server's
    answers reaching 40 clients' ephemeral ports, are no scans; the same records the other way are."""
    at = T0 + 600
    replies = [
        flow("52.95.128.179", "10.0.0.71", 80, 34210 + i, flow_direction="ingress", start=at) for i in range(40)
    ]
    replies += [
        flow("10.0.1.5", f"10.0.2.{i}", 443, 40000 + i, flow_direction="ingress", start=at) for i in range(40)
    ]
    root = write_lake(tmp_path / "replies", replies)
    assert run_report("scanners", open_lake(root), Options(top=0)).table.num_rows == 0
    probes = [
        flow("198.51.100.7", "10.0.0.71", 34210, 80 + i, flow_direction="ingress", start=at) for i in range(40)
    ]
    root = write_lake(tmp_path / "probes", probes)
    got = run_report("scanners", open_lake(root), Options(top=0)).table.to_pylist()
    assert [(g["source"], g["kind"], g["ports"]) for g in got] == [("198.51.100.7", "vertical", 40)]


@pytest.mark.parametrize("plan", ["plain", "days", "slots-16384", "slots-4", "slots-1"])
@pytest.mark.parametrize(
    "by, rank_by, bucket", [("pair", "bytes", 3600), ("eni", "packets", 86400), ("pair", "packets", 0)]
)
def test_top_talkers(lake, by, rank_by, bucket, plan, monkeypatch):
    """Each of DuckDB's plans gives the plain answer: one statement a day (per pair, with buckets
    that divide a day), and slots: with 4 slots a bucket the slot bound prunes some slots and keeps
    others, with 1 it keeps the only one."""
    from vpcflow.reports import top_talkers

    monkeypatch.setattr(top_talkers, "slots_pay_off", lambda source, options: plan.startswith("slots"))
    if plan.startswith("slots"):
        monkeypatch.setattr(top_talkers, "SLOTS", int(plan.split("-")[1]))
    day_plan, chosen = top_talkers.day_plan, []
    monkeypatch.setattr(
        top_talkers, "day_plan", lambda *a: chosen.append(day_plan(*a)) or (chosen[-1] if plan == "days" else None)
    )
    root, records = lake
    totals = defaultdict(lambda: [0, 0, 0])
    for r in records:
        key = (r["srcaddr"], r["dstaddr"]) if by == "pair" else (r["interface_id"],)
        b = r["start"] // bucket * bucket if bucket else None
        t = totals[(b, *key)]
        t[0] += r["bytes"]
        t[1] += r["packets"]
        t[2] += 1
    other = 1 if rank_by == "bytes" else 0
    main = 0 if rank_by == "bytes" else 1
    per_bucket = defaultdict(list)
    for (b, *key), t in totals.items():
        per_bucket[b].append((tuple(key), t))
    expected = []
    for b in sorted(per_bucket, key=lambda x: -1 if x is None else x):
        ranked = sorted(per_bucket[b], key=lambda kt: (-kt[1][main], -kt[1][other], kt[0]))[:3]
        expected += [(b, i + 1, key, t[0], t[1]) for i, (key, t) in enumerate(ranked)]
    options = Options(top=3, by=by, rank_by=rank_by, bucket=bucket)
    got = run_report("top-talkers", open_lake(root), options).table.to_pylist()
    keys = ("source", "destination") if by == "pair" else ("interface_id",)
    assert [
        (
            int(g["bucket"].timestamp()) if g["bucket"] else None,
            g["rank"],
            tuple(g[k] for k in keys),
            g["bytes"],
            g["packets"],
        )
        for g in got
    ] == expected
    if plan == "days":  # the four days the lake's records start on
        assert [len(c) if c else None for c in chosen] == [4 if by == "pair" and bucket else None]


def classify(addr: str, prefixes: list[dict]):
    ip = ipaddress.ip_address(addr)
    matches = [p for p in prefixes if ip in ipaddress.ip_network(p.get("ip_prefix") or p.get("ipv6_prefix"))]
    if not matches:
        return None
    best = sorted(
        matches,
        key=lambda p: (
            p["service"] == "AMAZON",
            -ipaddress.ip_network(p.get("ip_prefix") or p.get("ipv6_prefix")).prefixlen,
            p["service"],
        ),
    )[0]
    return best["service"], best["region"]


def sample_prefixes():
    doc = json.loads(aws_ranges.sample_path().read_text())
    return doc["prefixes"] + doc["ipv6_prefixes"]


def test_services(lake):
    root, records = lake
    prefixes = sample_prefixes()
    expected = defaultdict(int)
    for r in records:
        for direction, addr in (
            ("to", r.get("pkt_dstaddr") or r["dstaddr"]),
            ("from", r.get("pkt_srcaddr") or r["srcaddr"]),
        ):
            found = classify(addr, prefixes)
            if found:
                expected[(*found, direction)] += r["bytes"]
    options = Options(top=0, ip_ranges=aws_ranges.sample_path())
    got = run_report("services", open_lake(root), options).table.to_pylist()
    assert {(g["service"], g["region"], g["direction"]): g["bytes"] for g in got} == dict(expected)
    assert got[0]["bytes"] == max(expected.values())


def test_nat_savings(lake):
    root, records = lake
    prefixes = sample_prefixes()
    expected = defaultdict(int)
    for r in records:
        if r["interface_id"] != NAT_ENI:
            continue
        for addr in (r["dstaddr"], r["srcaddr"]):
            found = classify(addr, prefixes)
            if found and found[0] in ("S3", "DYNAMODB") and found[1] == r["region"]:
                expected[found[0]] += r["bytes"]
                break
    assert set(expected) == {"S3"}  # DynamoDB here is in us-east-1, the NAT in eu-west-1: no endpoint helps
    got = run_report(
        "nat-savings", open_lake(root), Options(ip_ranges=aws_ranges.sample_path(), price_per_gb=0.05)
    ).table.to_pylist()
    assert [(g["nat_interface"], g["service"], g["bytes"]) for g in got] == [(NAT_ENI, "S3", expected["S3"])]
    assert got[0]["gateway_endpoint"] == "com.amazonaws.eu-west-1.s3"
    assert got[0]["nat_processing_usd"] == round(expected["S3"] / 2**30 * 0.05, 2)


def test_nat_savings_without_packet_addresses_says_why(tmp_path):
    root = write_lake(tmp_path, [flow(NAT_IP, S3_EU[0], 40000, 443)])
    result = run_report("nat-savings", open_lake(root), Options(ip_ranges=aws_ranges.sample_path()))
    assert result.table.num_rows == 0
    assert any("no record has pkt-dstaddr" in n for n in result.notes)


def test_since_until_prune_partitions(tmp_path):
    records = [
        flow("87.32.0.1", "10.0.0.1", 40000, 22, action="REJECT", start=T0 + d * 86400) for d in range(3)
    ]
    root = write_lake(tmp_path, records)
    # Damage the last day's file: a report that reads it fails, one that prunes it does not.
    (next((root / "vpc_flow_logs").rglob("day=26/part-0.parquet"))).write_bytes(b"not a parquet file at all")
    until = Period(until=parse_time("2025-11-26", option="--until"))
    got = run_report("rejects", open_lake(root), Options(period=until)).table.to_pylist()
    assert got[0]["records"] == 2
    with pytest.raises(Exception, match="(?i)parquet|magic"):
        run_report("rejects", open_lake(root), Options())


def test_hourly_lake_and_empty_lake(tmp_path):
    records = [
        flow("87.32.0.1", "10.0.0.1", 40000, 22, action="REJECT", start=T0 + h * 3600) for h in range(5)
    ]
    root = write_lake(tmp_path / "hourly", records, hourly=True)
    period = Period(
        parse_time("2025-11-24T17:00Z", option="--since"), parse_time("2025-11-24T19:00Z", option="--until")
    )
    assert run_report("rejects", open_lake(root), Options(period=period)).table.to_pylist()[0]["records"] == 2
    (tmp_path / "empty").mkdir()
    assert run_report("rejects", open_lake(tmp_path / "empty"), Options()).table.num_rows == 0


LAB = "examples/endpoint-lab/lab.yaml"


def test_explain_names_the_rule_or_the_missing_one(tmp_path):
    from vpcflow.network import load_model

    records = [
        flow("133.11.0.1", "10.0.0.10", 40000, 3389, action="REJECT", eni="eni-bastion", start=T0 + i)
        for i in range(3)
    ]
    records += [flow("192.0.2.5", "10.0.0.10", 40000, 22, action="REJECT", eni="eni-bastion")]
    records += [flow("10.0.0.10", "10.0.10.20", 40000, 5432, action="REJECT", eni="eni-app")]
    records += [flow("10.0.0.10", "10.0.10.20", 40000, 22, eni="eni-app")]  # accepted: not explained
    root = write_lake(tmp_path, records)
    got = run_report("explain", open_lake(root), Options(model=load_model(LAB))).table.to_pylist()
    by_port = {g["port"]: g for g in got}
    assert [g["port"] for g in got] == [3389, 22, 5432] or [g["port"] for g in got] == [3389, 5432, 22]
    assert by_port[3389]["records"] == 3 and by_port[3389]["code"] == "ENI_SG_RULES_MISMATCH"
    assert by_port[3389]["responsible"] == "no ingress rule of sg-bastion matches"
    assert "allowing tcp 3389 from 133.11.0.1" in by_port[3389]["fix"]
    assert by_port[5432]["responsible"] == "no ingress rule of sg-app matches"
    # 192.0.2.0/24 may SSH to the bastion: the model accepts what the record rejected, and says so.
    assert by_port[22]["model_action"] == "ACCEPT" and "accepts this flow" in by_port[22]["detail"]


def test_explain_and_sg_suggest_need_the_model(tmp_path):
    from vpcflow.reports.base import ReportError

    root = write_lake(tmp_path, [flow("133.11.0.1", "10.0.0.10", 40000, 22, action="REJECT")])
    for name in ("explain", "sg-suggest"):
        with pytest.raises(ReportError, match="needs the VPC model: add --model"):
            run_report(name, open_lake(root), Options())


def test_sg_suggest_least_privilege_and_unused_rules(tmp_path):
    from vpcflow.network import load_model

    records = [
        flow("192.0.2.5", "10.0.0.10", 40000, 22, eni="eni-bastion", flow_direction="ingress", start=T0 + i)
        for i in range(3)
    ]
    records += [flow("10.0.0.10", "10.0.10.20", 40000, 22, eni="eni-app", flow_direction="ingress")]
    records += [
        flow("10.0.0.10", "192.0.2.5", 22, 40000, eni="eni-bastion", flow_direction="egress")
    ]  # replies don't count
    root = write_lake(tmp_path, records)
    got = run_report("sg-suggest", open_lake(root), Options(model=load_model(LAB))).table.to_pylist()
    rows = {(g["security_groups"], g["status"], g["peer"]): g["records"] for g in got}
    assert rows == {
        ("sg-bastion", "needed", "192.0.2.5/32"): 3,  # narrower than the office /24 in place
        ("sg-bastion", "used", "192.0.2.0/24"): 3,
        ("sg-app", "needed (exists)", "sg-bastion"): 1,  # the bastion's group, AWS's idiom in a VPC
        ("sg-app", "used", "sg-bastion"): 1,
    }
    quiet = run_report(
        "sg-suggest",
        open_lake(write_lake(tmp_path / "quiet", [flow("192.0.2.5", "10.0.0.10", 40000, 22, eni="eni-app")])),
        Options(model=load_model(LAB)),
    )
    assert {(g["security_groups"], g["status"], g["records"]) for g in quiet.table.to_pylist()} == {
        ("sg-bastion", "unused", 0),
        ("sg-app", "unused", 0),
    }


def test_sg_suggest_matches_an_interfaces_ipv6_address_whatever_its_spelling(tmp_path):
    """The own-address test runs in SQL for IPv4; IPv6 text has several spellings (2001:db8::10 and
    2001:0db8:0:0:0:0:0:10 are one address), so an IPv6 interface's rows are matched by value."""
    from ipaddress import IPv6Address

    from vpcflow.network import load_model

    model = load_model(LAB)
    enis = tuple(
        e.model_copy(update={"ipv6_addresses": (IPv6Address("2001:db8::10"),)})
        if e.id == "eni-bastion"
        else e
        for e in model.network_interfaces
    )
    model = model.model_copy(update={"network_interfaces": enis})
    records = [
        flow(
            "2001:db8:ffff::5",
            "2001:0db8:0:0:0:0:0:10",
            40000,
            22,
            eni="eni-bastion",
            flow_direction="ingress",
        ),
        flow("192.0.2.5", "10.0.0.10", 40000, 22, eni="eni-bastion", flow_direction="ingress"),
        # through the bastion's interface but addressed elsewhere: says nothing about its groups
        flow("192.0.2.5", "2001:db8::99", 40000, 22, eni="eni-bastion", flow_direction="ingress"),
    ]
    got = run_report(
        "sg-suggest", open_lake(write_lake(tmp_path, records)), Options(model=model)
    ).table.to_pylist()
    needed = {
        g["peer"]: g["records"]
        for g in got
        if g["security_groups"] == "sg-bastion" and g["status"] == "needed"
    }
    assert needed == {"2001:db8:ffff::5/128": 1, "192.0.2.5/32": 1}


def test_services_prefilter_keeps_every_address_of_a_short_prefix_and_ipv6(tmp_path):
    """On DuckDB, services first drops addresses whose /16 holds no AWS prefix: addresses deep in a
    /14 or /15 (52.7.x is in 52.4.0.0/14, 52.217.x in 52.216.0.0/15) and IPv6 ones must survive it,
    and so must one-digit first octets, whose first three characters hold the second octet (3.218.x)."""
    addresses = ["52.7.200.1", "52.217.9.9", "52.216.0.1", "2a05:d078:8000::1", "93.184.216.34", "52.99.0.1",
                 "3.218.180.7", "3.21.0.1", "18.201.3.4", "18.20.1.1", "54.209.255.254", "5.4.2.1"]  # fmt: skip
    records = [flow("10.0.0.5", a, 40000, 443, bytes=100 + i) for i, a in enumerate(addresses)]
    prefixes = sample_prefixes()
    expected = defaultdict(int)
    for r in records:
        for direction, addr in (("to", r["dstaddr"]), ("from", r["srcaddr"])):
            found = classify(addr, prefixes)
            if found:
                expected[(*found, direction)] += r["bytes"]
    assert len(expected) >= 3  # several services and regions, from addresses of every kind above
    options = Options(top=0, ip_ranges=aws_ranges.sample_path())
    got = run_report("services", open_lake(write_lake(tmp_path, records)), options).table.to_pylist()
    assert {(g["service"], g["region"], g["direction"]): g["bytes"] for g in got} == dict(expected)
