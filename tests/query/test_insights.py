"""CloudWatch Logs Insights over the lake: every sample flow-log query of AWS's docs (spec §8.2),
with expected answers computed in plain Python, the language's commands, and errors that point."""

from __future__ import annotations

import ipaddress
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vpcflow.errors import QueryError
from vpcflow.query import run_insights
from vpcflow.query.insights import compile_insights

FIXTURES = Path(__file__).parent / "fixtures"
DEFAULT_FIELDS = ("version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport",
                  "protocol", "packets", "bytes", "start", "end", "action", "log_status")  # fmt: skip


def message(rec) -> str:
    return " ".join("-" if rec[f] is None else str(rec[f]) for f in DEFAULT_FIELDS)


def top(sums: dict, n: int, names: tuple[str, ...], value: str) -> list[dict]:
    rows = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [
        dict(zip(names, key if isinstance(key, tuple) else (key,), strict=True)) | {value: v}
        for key, v in rows
    ]


def same_top(got: list[dict], expected: list[dict], value: str) -> None:
    """Equal up to the order of ties (AWS does not define it)."""
    assert [r[value] for r in got] == [r[value] for r in expected]
    assert Counter(tuple(sorted(r.items())) for r in got if r[value] != got[-1][value]) == Counter(
        tuple(sorted(r.items())) for r in expected if r[value] != expected[-1][value]
    )


def test_top_packet_transfers(engine, records):
    q = "stats sum(packets) as packetsTransferred by srcAddr, dstAddr\n    | sort packetsTransferred  desc\n    | limit 15"
    sums: dict = defaultdict(int)
    for r in records:
        sums[(r["srcaddr"], r["dstaddr"])] += r["packets"] or 0
    got = run_insights(engine, q).to_pylist()
    assert list(got[0]) == ["srcAddr", "dstAddr", "packetsTransferred"]
    same_top(got, top(sums, 15, ("srcAddr", "dstAddr"), "packetsTransferred"), "packetsTransferred")


def test_bytes_from_a_subnet(engine, records):
    q = 'filter isIpv4InSubnet(srcAddr, "192.0.2.0/24")\n    | stats sum(bytes) as bytesTransferred by dstAddr\n    | sort bytesTransferred desc\n    | limit 15'
    net = ipaddress.ip_network("192.0.2.0/24")
    sums: dict = defaultdict(int)
    for r in records:
        if r["srcaddr"] and ":" not in r["srcaddr"] and ipaddress.ip_address(r["srcaddr"]) in net:
            sums[r["dstaddr"]] += r["bytes"]
    got = run_insights(engine, q).to_pylist()
    assert got and got == top(sums, 15, ("dstAddr",), "bytesTransferred")


def test_udp_count_by_source(engine, records):
    got = run_insights(engine, "filter protocol=17 | stats count(*) by srcAddr").to_pylist()
    expected = Counter(r["srcaddr"] for r in records if r["protocol"] == 17)
    assert {r["srcAddr"]: r["count(*)"] for r in got} == expected


def test_skipdata_per_hour(engine, records):
    q = 'filter logStatus="SKIPDATA"\n    | stats count(*) by bin(1h) as t\n    | sort t'
    got = run_insights(engine, q).to_pylist()
    expected = Counter(datetime.fromtimestamp(r["start"] // 3600 * 3600, UTC).replace(tzinfo=None)
                       for r in records if r["log_status"] == "SKIPDATA")  # fmt: skip
    assert [r["t"] for r in got] == sorted(expected)
    assert {r["t"]: r["count(*)"] for r in got} == expected


# The NAT gateway samples, with x.x.x.x = 10.0.1.14 (the "NAT" address), y.y. = 10.117. and
# xxx.xx.xx.xx = 192.0.2.10. `like 'text'` is a substring test in Insights.
NAT_QUERIES = {
    "filter (dstAddr like '10.0.1.14' and srcAddr like '10.117.') \n| stats sum(bytes) as bytesTransferred by srcAddr, dstAddr\n| sort bytesTransferred desc\n| limit 10":
        lambda s, d: "10.0.1.14" in d and "10.117." in s,
    "filter (dstAddr like '10.0.1.14' and srcAddr like '10.117.') or (srcAddr like '192.0.2.10' and dstAddr like '10.117.')\n| stats sum(bytes) as bytesTransferred by srcAddr, dstAddr\n| sort bytesTransferred desc\n| limit 10":
        lambda s, d: ("10.0.1.14" in d and "10.117." in s) or ("192.0.2.10" in s and "10.117." in d),
    "filter (srcAddr like '10.0.1.14' and dstAddr not like '10.117.') \n| stats sum(bytes) as bytesTransferred by srcAddr, dstAddr\n| sort bytesTransferred desc\n| limit 10":
        lambda s, d: "10.0.1.14" in s and "10.117." not in d,
    "filter (dstAddr like '10.0.1.14' and srcAddr not like '10.117.') \n| stats sum(bytes) as bytesTransferred by srcAddr, dstAddr\n| sort bytesTransferred desc\n| limit 10":
        lambda s, d: "10.0.1.14" in d and "10.117." not in s,
}  # fmt: skip


@pytest.mark.parametrize("query", list(NAT_QUERIES), ids=range(len(NAT_QUERIES)))
def test_nat_gateway_top_contributors(engine, records, query):
    keep = NAT_QUERIES[query]
    sums: dict = defaultdict(int)
    for r in records:
        if r["srcaddr"] is not None and keep(r["srcaddr"], r["dstaddr"]):
            sums[(r["srcaddr"], r["dstaddr"])] += r["bytes"]
    got = run_insights(engine, query).to_pylist()
    assert got
    same_top(got, top(sums, 10, ("srcAddr", "dstAddr"), "bytesTransferred"), "bytesTransferred")


def test_latest_messages(engine, records):
    got = run_insights(engine, "fields @timestamp, @message | sort @timestamp desc | limit 25").to_pylist()
    latest = sorted(records, key=lambda r: -r["start"])[:25]
    assert [r["@timestamp"] for r in got] == [
        datetime.fromtimestamp(r["start"], UTC).replace(tzinfo=None) for r in latest
    ]
    assert (
        Counter(r["@message"] for r in got) == Counter(message(r) for r in latest)
        or got[-1]["@timestamp"] == got[-2]["@timestamp"]
    )


def test_rejections_by_source(engine, records):
    got = run_insights(
        engine,
        'filter action="REJECT" | stats count(*) as numRejections by srcAddr | sort numRejections desc',
    ).to_pylist()
    expected = Counter(r["srcaddr"] for r in records if r["action"] == "REJECT")
    assert {r["srcAddr"]: r["numRejections"] for r in got} == expected
    assert [r["numRejections"] for r in got] == sorted(expected.values(), reverse=True)


def test_rejections_from_10_by_regex(engine, records):
    q = r'filter action="REJECT" and srcAddr like /^10\./ | stats count(*) as numRejections by srcAddr | sort numRejections desc'
    expected = Counter(
        r["srcaddr"] for r in records if r["action"] == "REJECT" and r["srcaddr"].startswith("10.")
    )
    assert {r["srcAddr"]: r["numRejections"] for r in run_insights(engine, q).to_pylist()} == expected


def test_traffic_from_one_address(engine, records):
    q = 'filter srcAddr = "10.117.1.22" | fields @timestamp, interfaceId, dstAddr, dstPort, action | limit 1000'
    got = run_insights(engine, q).to_pylist()
    expected = Counter(
        (r["interface_id"], r["dstaddr"], r["dstport"], r["action"])
        for r in records
        if r["srcaddr"] == "10.117.1.22"
    )
    assert list(got[0]) == ["@timestamp", "interfaceId", "dstAddr", "dstPort", "action"]
    assert Counter((r["interfaceId"], r["dstAddr"], r["dstPort"], r["action"]) for r in got) == expected


def test_knowledge_center_custom_format_parse(engine, records):
    fields = ["account_id", "vpc_id", "subnet_id", "interface_id", "instance_id", "srcaddr", "srcport", "dstaddr", "dstport", "protocol", "packets", "bytes", "action", "log_status", "start", "end", "flow_direction", "traffic_path", "tcp_flags", "pkt_srcaddr", "pkt_src_aws_service", "pkt_dstaddr", "pkt_dst_aws_service", "region", "az_id", "sublocation_type", "sublocation_id"]  # fmt: skip
    fmt = " ".join("${" + f.replace("_", "-") + "}" for f in fields)
    q = ('#Retrieve latest custom VPC Flow Logs\nparse @message "' + " ".join(["*"] * 27) + '" as account_id, vpc_id, '
         "subnet_id, interface_id,instance_id, srcaddr, srcport, dstaddr, dstport, protocol, packets, bytes, action, "
         "log_status, start, end, flow_direction, traffic_path, tcp_flags, pkt_srcaddr, pkt_src_aws_service, pkt_dstaddr, "
         "pkt_dst_aws_service, region, az_id, sublocation_type, sublocation_id\n| sort start desc\n| limit 2")  # fmt: skip
    got = run_insights(engine, q, message_format=fmt).to_pylist()
    latest = sorted(records, key=lambda r: -r["start"])[:2]
    assert [r["start"] for r in got] == [str(r["start"]) for r in latest]
    assert [r["sublocation_id"] for r in got] == ["-", "-"]
    assert [r["interface_id"] for r in got] == [r["interface_id"] for r in latest]


# --- the rest of the language --------------------------------------------------------------------


def test_default_columns_and_default_limit(engine, records):
    table = run_insights(engine, "filter ispresent(srcAddr)")
    assert table.schema.names == ["@timestamp", "@message"]
    assert table.num_rows == 1000 < sum(1 for r in records if r["srcaddr"])
    assert run_insights(engine, "filter ispresent(srcAddr)", default_limit=10_000).num_rows == sum(
        1 for r in records if r["srcaddr"]
    )


def test_in_not_in_and_regex_operator(engine, records):
    got = run_insights(
        engine,
        "filter dstPort in [22, 3389] and action =~ /^REJ/ and srcAddr not in ['10.0.1.14'] | stats count() as n",
    ).to_pylist()
    assert got == [
        {
            "n": sum(
                1
                for r in records
                if r["dstport"] in (22, 3389) and r["action"] == "REJECT" and r["srcaddr"] != "10.0.1.14"
            )
        }
    ]


def test_not_on_an_absent_field_is_true(engine, records):
    got = run_insights(engine, 'filter not (srcAddr = "10.0.1.14") | stats count(*) as n').to_pylist()
    assert got == [{"n": sum(1 for r in records if r["srcaddr"] != "10.0.1.14")}]


def test_aggregations(engine, records):
    q = "filter protocol = 6 | stats count_distinct(dstAddr) as d, min(bytes) as lo, max(bytes) as hi, avg(packets) as mean, pct(bytes, 50) as median, count(srcAddr) as c"
    rows = [r for r in records if r["protocol"] == 6]
    byte_values = sorted(r["bytes"] for r in rows)
    got = run_insights(engine, q).to_pylist()[0]
    assert got["d"] == len({r["dstaddr"] for r in rows}) and got["c"] == len(rows)
    assert (got["lo"], got["hi"]) == (byte_values[0], byte_values[-1])
    assert got["mean"] == pytest.approx(sum(r["packets"] for r in rows) / len(rows))
    assert got["median"] == byte_values[(len(byte_values) + 1) // 2 - 1]


def test_bin_5m_and_earliest(engine, records):
    got = run_insights(
        engine, 'filter srcAddr = "10.117.1.22" | stats count(*) as n, earliest(dstAddr) as first by bin(5m)'
    ).to_pylist()
    groups: dict = defaultdict(list)
    for r in records:
        if r["srcaddr"] == "10.117.1.22":
            groups[datetime.fromtimestamp(r["start"] // 300 * 300, UTC).replace(tzinfo=None)].append(r)
    assert {g["bin(5m)"]: g["n"] for g in got} == {k: len(v) for k, v in groups.items()}
    for g in got:
        firsts = groups[g["bin(5m)"]]
        assert g["first"] in {r["dstaddr"] for r in firsts if r["start"] == min(x["start"] for x in firsts)}


def test_parse_regex_named_groups_and_display(engine, records):
    q = r"parse @message /^\d+ (?<acct>\d{12}) (?<eni>eni-\w+)/ | filter acct = '210987654321' | stats count(*) as n by eni | display eni, n"
    got = run_insights(engine, q).to_pylist()
    assert {r["eni"]: r["n"] for r in got} == Counter(
        r["interface_id"] for r in records if r["account_id"] == "210987654321"
    )


def test_dedup_keeps_first_in_sort_order_and_nulls(engine, records):
    got = run_insights(engine, "fields srcAddr, bytes | sort bytes desc | dedup srcAddr").to_pylist()
    best: dict = {}
    for r in records:
        if r["srcaddr"] is not None and r["bytes"] > best.get(r["srcaddr"], -1):
            best[r["srcaddr"]] = r["bytes"]
    assert {r["srcAddr"]: r["bytes"] for r in got if r["srcAddr"] is not None} == best
    assert sum(1 for r in got if r["srcAddr"] is None) == sum(1 for r in records if r["srcaddr"] is None)


def test_fields_expressions_functions_and_log_stream(engine, records):
    q = 'fields @logStream, concat(srcAddr, ":", srcPort) as src, bytes / packets as bpp, toupper(logStatus) as st | filter isValidIpV6(srcAddr) | limit 5'
    got = run_insights(engine, q).to_pylist()
    assert got and list(got[0]) == ["@logStream", "src", "bpp", "st"]
    for row in got:
        assert (
            row["@logStream"].endswith("-all")
            and ipaddress.ip_address(row["src"].rsplit(":", 1)[0]).version == 6
        )


def test_time_range_limits_records(engine, records):
    since, until = datetime(2021, 2, 1, tzinfo=UTC), datetime(2021, 3, 1, tzinfo=UTC)
    got = run_insights(engine, "stats count(*) as n", since=since, until=until).to_pylist()
    assert got == [{"n": sum(1 for r in records if since.timestamp() <= r["start"] < until.timestamp())}]


def test_comment_lines_and_backticks(engine, records):
    got = run_insights(
        engine, "# rejected\nfilter `action` = 'REJECT' # trailing\n| stats count(*) as n"
    ).to_pylist()
    assert got == [{"n": sum(1 for r in records if r["action"] == "REJECT")}]


ERRORS = [
    line.split("\t")
    for line in (FIXTURES / "insights_errors.tsv").read_text().splitlines()
    if line and not line.startswith("#")
]


@pytest.mark.parametrize("query, token, words", ERRORS, ids=[e[0] for e in ERRORS])
def test_untranslatable_query_points_at_the_token(query, token, words):
    with pytest.raises(QueryError) as err:
        compile_insights(query)
    first, text, caret = str(err.value).splitlines()[-3:]
    assert words in first, first
    column = int(re.search(r"column (\d+)", first).group(1))
    assert text.strip() == query and query[column - 1 :].startswith(token)
    assert caret.index("^") - 2 == column - 1
