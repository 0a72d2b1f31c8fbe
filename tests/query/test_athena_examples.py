# ruff: noqa: W291 - AWS example queries are kept verbatim, trailing spaces included
"""Every example query of AWS's Athena documentation for flow logs (spec §7.2, §7.4), run unchanged;
expected answers computed in plain Python from the records the lake was written from."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from vpcflow.query import run_sql
from vpcflow.query.tables import PROJECTION_COLUMNS
from vpcflow.records.catalog import ATHENA_COLUMNS, vpc_schema

from .conftest import TODAY

LAKE_COLUMNS = list(vpc_schema().names)


def _projection_day(rec) -> str:
    return rec["_date"].strftime("%Y/%m/%d")


def _record_row(rec) -> tuple:
    return tuple(rec[c] for c in LAKE_COLUMNS)


def _projection_row(rec) -> tuple:
    return tuple(rec[c] for c in PROJECTION_COLUMNS) + (rec["_region"], _projection_day(rec))


def _rows(table) -> list[tuple]:
    return [tuple(row.values()) for row in table.to_pylist()]


# --- §7.2, the text-table DDL's examples -------------------------------------------------------


def test_select_star_by_date(engine, records):
    sql = "SELECT * \nFROM vpc_flow_logs \nWHERE date = DATE('2020-05-04') \nLIMIT 100;"
    table = run_sql(engine, sql)
    names = table.schema.names
    assert names[:29] == list(ATHENA_COLUMNS)  # AWS's 29 DDL columns first, in AWS's order
    assert names[: len(LAKE_COLUMNS)] == LAKE_COLUMNS
    assert names[len(LAKE_COLUMNS) : len(LAKE_COLUMNS) + 5] == ["date", "year", "month", "day", "hour"]
    expected = Counter(_record_row(r) for r in records if r["_date"].isoformat() == "2020-05-04")
    got = Counter(tuple(row[: len(LAKE_COLUMNS)]) for row in _rows(table))
    assert table.num_rows == min(100, sum(expected.values())) == 100
    assert not got - expected
    assert {str(d) for d in table.column("date").to_pylist()} == {"2020-05-04"}


def test_rejected_tcp_with_day_of_week(engine, records):
    sql = """SELECT day_of_week(date) AS
  day,
  date,
  interface_id,
  srcaddr,
  action,
  protocol
FROM vpc_flow_logs
WHERE action = 'REJECT' AND protocol = 6
LIMIT 100;"""
    table = run_sql(engine, sql)
    assert table.schema.names == ["day", "date", "interface_id", "srcaddr", "action", "protocol"]
    expected = Counter(
        (r["_date"].isoweekday(), r["_date"], r["interface_id"], r["srcaddr"], r["action"], r["protocol"])
        for r in records
        if r["action"] == "REJECT" and r["protocol"] == 6
    )
    got = Counter(_rows(table))
    assert table.num_rows == min(100, sum(expected.values()))
    assert not got - expected


def test_top_443_destinations_last_7_days(engine, records):
    sql = """SELECT SUM(packets) AS
  packetcount,
  dstaddr
FROM vpc_flow_logs
WHERE dstport = 443 AND date > current_date - interval '7' day
GROUP BY dstaddr
ORDER BY packetcount DESC
LIMIT 10;"""
    today = datetime.now(UTC).date()
    assert today == TODAY, "the test crossed midnight UTC; run it again"
    sums: dict[str, int] = defaultdict(int)
    for r in records:
        if r["dstport"] == 443 and r["_date"] > today - timedelta(days=7):
            sums[r["dstaddr"]] += r["packets"]
    expected = sorted(((v, k) for k, v in sums.items()), reverse=True)[:10]
    table = run_sql(engine, sql)
    assert sorted(_rows(table), reverse=True) == expected
    assert [v for v, _ in _rows(table)] == [v for v, _ in expected]  # ordered by packetcount desc


# --- §7.4, the partition-projection table's examples (test_table_vpclogs) -----------------------


def _between(rec, low: str, high: str) -> bool:
    return low <= _projection_day(rec) < high


def test_projection_select_star_ordered_by_day(engine, records):
    sql = "SELECT *\nFROM test_table_vpclogs\nWHERE day >= '2021/02/01' AND day < '2021/02/28'\nORDER BY day ASC\nLIMIT 100"
    table = run_sql(engine, sql)
    assert table.schema.names == list(PROJECTION_COLUMNS) + ["region", "day"]
    matching = [r for r in records if _between(r, "2021/02/01", "2021/02/28")]
    assert table.column("day").to_pylist() == sorted(_projection_day(r) for r in matching)[:100]
    assert not Counter(_rows(table)) - Counter(_projection_row(r) for r in matching)


def test_projection_top_443_destinations_in_march(engine, records):
    sql = """SELECT SUM(packets) AS packetcount, 
       dstaddr
FROM test_table_vpclogs
WHERE dstport = 443
  AND day >= '2021/03/01'
  AND day < '2021/03/31'
GROUP BY dstaddr
ORDER BY packetcount DESC
LIMIT 10"""
    sums: dict[str, int] = defaultdict(int)
    for r in records:
        if r["dstport"] == 443 and _between(r, "2021/03/01", "2021/03/31"):
            sums[r["dstaddr"]] += r["packets"]
    expected = sorted(((v, k) for k, v in sums.items()), reverse=True)[:10]
    assert sorted(_rows(run_sql(engine, sql)), reverse=True) == expected


def test_projection_iso8601_times(engine, records):
    sql = """SELECT interface_id,
       srcaddr,
       action,
       protocol,
       to_iso8601(from_unixtime(start)) AS start_time,
       to_iso8601(from_unixtime("end")) AS end_time
FROM test_table_vpclogs
WHERE DAY >= '2021/04/01'
  AND DAY < '2021/04/30'"""

    def iso(seconds):
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    expected = Counter(
        (r["interface_id"], r["srcaddr"], r["action"], r["protocol"], iso(r["start"]), iso(r["end"]))
        for r in records
        if _between(r, "2021/04/01", "2021/04/30")
    )
    assert Counter(_rows(run_sql(engine, sql))) == expected


def test_projection_by_source_address(engine, records):
    sql = "SELECT *\nFROM test_table_vpclogs\nWHERE srcaddr = '10.117.1.22'\n  AND day >= '2021/02/01'\n  AND day < '2021/02/28'"
    expected = Counter(
        _projection_row(r)
        for r in records
        if r["srcaddr"] == "10.117.1.22" and _between(r, "2021/02/01", "2021/02/28")
    )
    assert expected and Counter(_rows(run_sql(engine, sql))) == expected


def test_projection_rejected_tcp(engine, records):
    sql = """SELECT day,
       interface_id,
       srcaddr,
       action,
       protocol
FROM test_table_vpclogs
WHERE action = 'REJECT' AND protocol = 6 AND day >= '2021/02/01' AND day < '2021/02/28'
LIMIT 10"""
    expected = Counter(
        (_projection_day(r), r["interface_id"], r["srcaddr"], r["action"], r["protocol"])
        for r in records
        if r["action"] == "REJECT" and r["protocol"] == 6 and _between(r, "2021/02/01", "2021/02/28")
    )
    table = run_sql(engine, sql)
    assert table.num_rows == min(10, sum(expected.values())) == 10
    assert not Counter(_rows(table)) - expected


def test_projection_split_part(engine, records):
    sql = "SELECT *\nFROM test_table_vpclogs\nWHERE split_part(srcaddr,'.', 1)='10'\n  AND split_part(srcaddr,'.', 2) ='117'"

    def match(addr):
        parts = (addr or "").split(".")
        return addr is not None and len(parts) > 1 and parts[0] == "10" and parts[1] == "117"

    expected = Counter(_projection_row(r) for r in records if match(r["srcaddr"]))
    got = Counter(_rows(run_sql(engine, sql)))
    assert expected and got == expected
    assert all(row[PROJECTION_COLUMNS.index("srcaddr")] != "10.1.117.9" for row in got)


def test_projection_by_destination_address(engine, records):
    sql = "SELECT *\nFROM test_table_vpclogs\nWHERE dstaddr = '10.0.1.14'\n  AND day >= '2021/01/01'\n  AND day < '2021/01/31'"
    expected = Counter(
        _projection_row(r)
        for r in records
        if r["dstaddr"] == "10.0.1.14" and _between(r, "2021/01/01", "2021/01/31")
    )
    assert expected and Counter(_rows(run_sql(engine, sql))) == expected
