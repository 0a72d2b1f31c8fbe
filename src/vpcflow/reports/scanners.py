"""Port scans and sweeps: one source probing many ports of one host (vertical), one port across
many hosts (horizontal), or both, within tumbling windows.

What counts as a probe (AWS is silent; our choice): a record into the interface (`flow-direction`
`ingress`, or no direction in the format) that is rejected, or that is a request (base.REQUEST: its
TCP flags hold SYN and not SYN-ACK, or, without telling flags, it goes from a higher to a lower or
equal port). Connection attempts go from an ephemeral port to a service port, replies the other
way, so a probe sent from a low source port (nmap's `--source-port 53`) to higher ports counts
only where the format has `tcp-flags`. A reply is an ingress record too (AWS's own example,
flowlogs.md §9.8: S3 answering an instance from port 80 to port 34210 is `ingress`), so without
the request test every service answering many connections of one instance looked like a
vertical scan of its ephemeral ports, and a server answering many clients like a sweep. ICMP records (ports 0) count, so a ping sweep is a horizontal
scan of port 0.
"""

from __future__ import annotations

import pyarrow as pa

from vpcflow.errors import QueryError
from vpcflow.reports import enrich
from vpcflow.reports.base import REQUEST, Options, Result, compact_ports, fetch, limit
from vpcflow.reports.source import Source, sample_of

NAME = "scanners"
TITLE = "Port scans (vertical) and sweeps (horizontal)"
SLOTS = 1 << 23  # DuckDB's first count of the sources, by hash slot (see aggregate_sql); 0: none
BUSY_SHARE = 0.5  # the slot count is skipped when a sample's probes are busier than this (prefilter_pays)

PROBE = f"(coalesce(flow_direction, 'ingress') = 'ingress' AND (action = 'REJECT' OR {REQUEST}))"
PROBE_ROWS = f"srcaddr IS NOT NULL AND dstaddr IS NOT NULL AND {PROBE}"  # the probes a scan is made of


def aggregate_sql(where: str, options: Options, *, duckdb: bool = False, prefilter: bool = True) -> str:
    w, min_ports, min_hosts = int(options.window), int(options.min_ports), int(options.min_hosts)
    least = min(min_ports, min_hosts)
    probe_rows = f"FROM vpc_flow_logs WHERE {where} AND {PROBE_ROWS}"
    slots = in_slots = ""
    if duckdb and SLOTS and prefilter:
        # On DuckDB, a first scan counts probes by SLOTS slots of a 64-bit hash of the source over
        # the whole period: a source busy in some window has at least as many probes in its slot,
        # so dropping the slots under the threshold is exact (two sources sharing a slot only make
        # it look busier; everything after is counted by address). One-off sources share a slot
        # with a few others (45M probes: ~5 a slot) and are mostly dropped, so the second scan
        # keeps a small part of the probes (365k of 45M on the 100M-record lake): the steps below
        # group and join those, and hold them in memory instead of every probe (4.8 -> 0.75 GB,
        # the same time: BENCHMARKS.md). With far more probes a slot they prune less.
        slots = f"""slots AS (
            SELECT hash(srcaddr) % {SLOTS} AS slot {probe_rows}
            GROUP BY ALL HAVING count(*) >= {least}
        ),
        """
        in_slots = f" AND hash(srcaddr) % {SLOTS} IN (SELECT slot FROM slots)"
    return f"""
        WITH {slots}probes AS (
            SELECT srcaddr, dstaddr, dstport, start, "end", action, (start // {w}) * {w} AS window_start
            {probe_rows}{in_slots}
        ),
        -- A finding needs at least min(min_ports, min_hosts) distinct tries, so at least that many
        -- records in its window: counting records per (source, window) first is exact and spares
        -- the DISTINCT below the one-off sources that make most of the internet's traffic.
        busy AS (
            SELECT srcaddr, window_start FROM probes GROUP BY ALL HAVING count(*) >= {least}
        ),
        tries AS (
            SELECT DISTINCT p.srcaddr, p.window_start, p.dstaddr, p.dstport
            FROM probes p JOIN busy b USING (srcaddr, window_start)
        ),
        vertical AS (
            SELECT srcaddr, window_start, max(n) AS max_ports
            FROM (SELECT srcaddr, window_start, dstaddr, count(*) AS n FROM tries GROUP BY ALL)
            GROUP BY ALL
        ),
        horizontal AS (
            SELECT srcaddr, window_start, max(n) AS max_hosts
            FROM (SELECT srcaddr, window_start, dstport, count(*) AS n FROM tries GROUP BY ALL)
            GROUP BY ALL
        ),
        findings AS (
            SELECT srcaddr, window_start, max_ports, max_hosts,
                   CASE WHEN max_ports >= {min_ports} AND max_hosts >= {min_hosts} THEN 'both'
                        WHEN max_ports >= {min_ports} THEN 'vertical' ELSE 'horizontal' END AS kind
            FROM vertical JOIN horizontal USING (srcaddr, window_start)
            WHERE max_ports >= {min_ports} OR max_hosts >= {min_hosts}
        )
        SELECT f.kind, f.srcaddr AS source, f.window_start, f.max_ports, f.max_hosts,
               count(DISTINCT p.dstport) AS ports, count(DISTINCT p.dstaddr) AS targets,
               list(DISTINCT p.dstport ORDER BY p.dstport) AS port_list,
               list(DISTINCT p.dstaddr ORDER BY p.dstaddr) AS target_list,
               count(*) AS records, count(*) FILTER (WHERE p.action = 'REJECT') AS rejected,
               min(p.start) AS first_start, max(p."end") AS last_end
        FROM findings f JOIN probes p USING (srcaddr, window_start)
        GROUP BY ALL
        ORDER BY ports * targets DESC, records DESC, source, window_start
        {limit(options)}
    """


def prefilter_pays(source: Source, options: Options) -> bool:
    """Whether the slot count's extra scan can pay for itself, judged on the period's records in the
    lake's largest file (sample_of; a plan choice only: the findings are the same). It keeps at
    least the probes of busy (source, window)s; when most of a sample's probes are busy (a VPC's
    own peers, not the internet's one-off sources) it cannot prune much and is skipped: scanners
    on the benchmark's simulated VPC. A sample never has more busy probes than the whole lake, so
    a lake of one-off sources keeps it."""
    sample = sample_of(source, options.period)
    if sample is None:
        return True
    w, least = int(options.window), min(int(options.min_ports), int(options.min_hosts))
    try:  # a plan choice must never fail a report: on any error, the plan that is good on every lake
        shares = _busy_shares(source, sample, w, least)
    except QueryError:
        return True
    return not shares["probes"] or (shares["busy"] or 0) <= BUSY_SHARE * shares["probes"]


def _busy_shares(source: Source, sample: str, w: int, least: int) -> dict:
    return source.engine.query(f"""
        WITH counts AS (
            SELECT count(*) AS n FROM {sample} AND {PROBE_ROWS}
            GROUP BY srcaddr, (start // {w}) * {w}
        )
        SELECT sum(n) FILTER (WHERE n >= {least}) AS busy, sum(n) AS probes FROM counts""").to_pylist()[0]


def sql(source: Source, options: Options) -> str:
    local = source.remote is None
    prefilter = local and bool(SLOTS) and prefilter_pays(source, options)
    inner = aggregate_sql(source.where(options.period), options, duckdb=local, prefilter=prefilter)
    return f"""
        SELECT kind, source, to_timestamp(window_start) AS "window", ports, targets,
               -- sorted here: Spark's collect_list keeps no order
               list_sort(port_list) AS port_list, list_sort(target_list) AS target_list,
               records, rejected, to_timestamp(first_start) AS first_seen, to_timestamp(last_end) AS last_seen,
               country, asn, owner
        FROM ({enrich.with_owner(source.relation(inner), "source")})
        ORDER BY ports * targets DESC, records DESC, source, "window"
    """


def run(source: Source, options: Options) -> Result:
    enrich.install_owners(source.con)
    table = fetch(source, sql(source, options))
    # Lists become compact text for people; the findings are few, so this loop is per finding.
    ports = pa.array([compact_ports(v) for v in table.column("port_list").to_pylist()], pa.string())
    targets = pa.array([_targets(v) for v in table.column("target_list").to_pylist()], pa.string())
    table = table.set_column(table.schema.get_field_index("port_list"), "ports_tried", ports)
    table = table.set_column(table.schema.get_field_index("target_list"), "target_addresses", targets)
    notes = [
        f"window {options.window}s; vertical >= {options.min_ports} ports on one host, "
        f"horizontal >= {options.min_hosts} hosts on one port"
    ]
    return Result(NAME, TITLE, table, notes)


def _targets(values: list[str] | None, limit: int = 10) -> str:
    values = values or []
    text = ", ".join(values[:limit])
    return text + (f", ... ({len(values) - limit} more)" if len(values) > limit else "")
