"""Traffic by AWS service and region, from AWS's published ip-ranges.json.

Each record is counted once for its destination ("to" the service) and once for its source ("from"
the service) when that address is AWS's. Addresses are the packet-level ones (`pkt-srcaddr`,
`pkt-dstaddr`) when the format has them, as AWS's own `pkt-*-aws-service` fields use. A flow seen
on two interfaces (an instance and its NAT gateway) is counted on both, as flow logs record it.
"""

from __future__ import annotations

from vpcflow.reports import enrich
from vpcflow.reports.base import Options, Result, fetch, limit
from vpcflow.reports.enrich import aws_ranges
from vpcflow.reports.source import Source

NAME = "services"
TITLE = "Traffic by AWS service and region"


def sides_sql(where: str, *, leads: list[str] | None = None) -> str:
    # With `leads` (on DuckDB, which holds the AWS prefixes: see enrich.may_be_aws_sql) the
    # addresses that cannot be AWS's are dropped before the per-address sums (on mostly-internet
    # traffic that is most of them: 73 s -> ~17 s on 100M records, BENCHMARKS.md). Spark and
    # Athena have no copy of the AWS prefixes, so they sum every address.
    to_aws = f"WHERE {enrich.may_be_aws_sql('dst', leads)}" if leads is not None else ""
    from_aws = f"WHERE {enrich.may_be_aws_sql('src', leads)}" if leads is not None else ""
    return f"""
        WITH flows AS (
            SELECT coalesce(pkt_srcaddr, srcaddr) AS src, coalesce(pkt_dstaddr, dstaddr) AS dst, bytes, packets
            FROM vpc_flow_logs WHERE {where} AND log_status = 'OK'
        )
        SELECT dst AS address, 'to' AS direction, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS records
        FROM flows {to_aws} GROUP BY dst
        UNION ALL
        SELECT src AS address, 'from' AS direction, sum(bytes), sum(packets), count(*)
        FROM flows {from_aws} GROUP BY src
    """


def sql(source: Source, options: Options) -> str:
    # The per-address sums are computed once and both joined and classified from there.
    leads = enrich.aws_v4_leads(source.con) if source.remote is None else None
    sides = sides_sql(source.where(options.period), leads=leads)
    return f"""
        WITH vpcflow_sides AS MATERIALIZED ({source.relation(sides)})
        SELECT s.service, s.region, a.direction, sum(a.bytes)::BIGINT AS bytes, sum(a.packets)::BIGINT AS packets,
               sum(a.records)::BIGINT AS records, count(DISTINCT a.address) AS addresses
        FROM vpcflow_sides a JOIN ({enrich.aws_service_sql("SELECT * FROM vpcflow_sides", "address")}) s USING (address)
        GROUP BY ALL
        ORDER BY bytes DESC, s.service, s.region, a.direction
        {limit(options)}
    """


def run(source: Source, options: Options) -> Result:
    path = aws_ranges.locate(options.ip_ranges)
    created = enrich.install_aws_ranges(source.con, path)
    return Result(
        NAME,
        TITLE,
        fetch(source, sql(source, options)),
        [f"AWS ip-ranges.json {path} (createDate {created})"],
    )
