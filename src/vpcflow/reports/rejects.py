"""Rejected traffic grouped by source, destination port and protocol, with who the source is."""

from __future__ import annotations

from vpcflow.reports import enrich
from vpcflow.reports.base import PROTOCOL_NAME, Options, Result, fetch, limit
from vpcflow.reports.source import Source

NAME = "rejects"
TITLE = "Rejected traffic by source, port and protocol"


def aggregate_sql(where: str, options: Options) -> str:
    """The analysis alone (no enrichment): what the benchmark compares with hand-written SQL."""
    return f"""
        SELECT srcaddr AS source, dstport AS port, protocol,
               count(*) AS records, sum(packets)::BIGINT AS packets, sum(bytes)::BIGINT AS bytes,
               min(start) AS first_start, max("end") AS last_end
        FROM vpc_flow_logs
        WHERE action = 'REJECT' AND {where}
        GROUP BY ALL
        ORDER BY records DESC, bytes DESC, source, port, protocol
        {limit(options)}
    """


def sql(source: Source, options: Options) -> str:
    inner = aggregate_sql(source.where(options.period), options)
    return f"""
        SELECT source, port, {PROTOCOL_NAME} AS protocol, records, packets, bytes,
               to_timestamp(first_start) AS first_seen, to_timestamp(last_end) AS last_seen,
               country, asn, owner
        FROM ({enrich.with_owner(source.relation(inner), "source")})
        ORDER BY records DESC, bytes DESC, source, port, protocol
    """


def run(source: Source, options: Options) -> Result:
    enrich.install_owners(source.con)
    return Result(NAME, TITLE, fetch(source, sql(source, options)))
