"""The figures behind the HTML page's charts: accepts and rejects over time, top sources, countries."""

from __future__ import annotations

from dataclasses import dataclass

from vpcflow.reports import enrich
from vpcflow.reports.source import Period, Source, arrow

MAX_BUCKETS = 120
NICE_BUCKETS = (60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)


@dataclass
class Overview:
    bucket: int  # seconds
    timeline: list[dict]  # {"start": epoch, "accept": n, "reject": n}
    top_sources: list[dict]  # {"source", "records", "rejected", "country"}
    countries: list[dict]  # {"country", "records", "sources"}


def overview(source: Source, period: Period, top: int = 10) -> Overview:
    where = source.where(period)
    span = source.query(
        f'SELECT min(start) AS lo, max("end") AS hi FROM vpc_flow_logs WHERE {where}'
    ).to_pylist()[0]
    lo, hi = span["lo"], span["hi"]
    if lo is None:
        return Overview(3600, [], [], [])
    bucket = next((b for b in NICE_BUCKETS if (hi - lo) / b <= MAX_BUCKETS), NICE_BUCKETS[-1])
    timeline = source.query(
        f"""SELECT (start // {bucket}) * {bucket} AS start,
                   count(*) FILTER (WHERE action = 'ACCEPT') AS accept,
                   count(*) FILTER (WHERE action = 'REJECT') AS reject
            FROM vpc_flow_logs WHERE {where} GROUP BY ALL ORDER BY start""",
    ).to_pylist()
    enrich.install_owners(source.con)
    per_source = f"""
        SELECT srcaddr AS source, count(*) AS records, count(*) FILTER (WHERE action = 'REJECT') AS rejected
        FROM vpc_flow_logs WHERE {where} AND srcaddr IS NOT NULL GROUP BY ALL"""
    top_sources = arrow(
        source,
        f"""SELECT source, records, rejected, country FROM ({
            enrich.with_owner(
                source.relation(per_source + f" ORDER BY records DESC, source LIMIT {int(top)}"), "source"
            )
        })
            ORDER BY records DESC, source""",
    ).to_pylist()
    countries = arrow(
        source,
        f"""SELECT coalesce(country, 'none') AS country, sum(records)::BIGINT AS records, count(*) AS sources
            FROM ({enrich.with_owner(source.relation(per_source), "source")})
            GROUP BY ALL ORDER BY records DESC, country LIMIT 15""",
    ).to_pylist()
    return Overview(bucket, timeline, top_sources, countries)
