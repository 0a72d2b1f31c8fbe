"""Bytes that went through NAT gateways to S3 or DynamoDB in the same region, what the NAT data
processing cost, and the gateway endpoint that would carry it for free.

NAT gateway interfaces come from `--model` (interfaces of type nat_gateway) or, without a model,
from the records themselves: a NAT gateway interface records traffic whose packet-level destination
(`pkt-dstaddr`) is a public address while the record's destination is the gateway itself
(flowlogs.md §9.6), and has no instance (`instance-id` is '-'). The format must include
`pkt-dstaddr` for that; the report says so when it finds none.

On a NAT gateway interface each byte appears twice: instance -> gateway and gateway -> service
(and back). We count the legs between the gateway and the service (the record's own source or
destination is the service's public address), which is each processed byte once. Gateway endpoints
serve only their own region (AWS: "Gateway endpoints do not allow access from other Regions"), so
only same-region traffic is listed.
"""

from __future__ import annotations

from vpcflow.reports import enrich
from vpcflow.reports.base import BYTES_PER_GB, Options, ReportError, Result, fetch, limit
from vpcflow.reports.enrich import aws_ranges
from vpcflow.reports.source import Source

NAME = "nat-savings"
TITLE = "NAT gateway traffic to S3 and DynamoDB that a gateway endpoint would carry free"

PRIVATE = (
    "(vpcflow_ip_family({a}) = 4 AND ("
    "vpcflow_ip_number({a}) BETWEEN 167772160 AND 184549375 "  # 10.0.0.0/8
    "OR vpcflow_ip_number({a}) BETWEEN 2886729728 AND 2887778303 "  # 172.16.0.0/12
    "OR vpcflow_ip_number({a}) BETWEEN 3232235520 AND 3232301055 "  # 192.168.0.0/16
    "OR vpcflow_ip_number({a}) BETWEEN 1681915904 AND 1686110207))"  # 100.64.0.0/10 (shared)
    " OR (vpcflow_ip_family({a}) = 6 AND starts_with(lower({a}), 'f') AND substr(lower({a}), 2, 1) IN ('c', 'd'))"
)


def nat_interfaces_sql(where: str, model_enis: list[str] | None) -> str:
    if model_enis is not None:
        values = ", ".join(f"('{e}')" for e in model_enis) or "(NULL)"
        return f"SELECT interface_id FROM (VALUES {values}) t(interface_id)"
    return f"""
        SELECT DISTINCT interface_id FROM vpc_flow_logs
        WHERE {where} AND pkt_dstaddr IS NOT NULL AND dstaddr IS NOT NULL AND pkt_dstaddr <> dstaddr
          AND instance_id IS NULL AND NOT ({PRIVATE.format(a="pkt_dstaddr")})
    """


def sql(source: Source, options: Options, model_enis: list[str] | None = None) -> str:
    where = source.where(options.period)
    legs = f"""
        SELECT interface_id, vpc_id, coalesce(region, aws_region) AS nat_region, srcaddr, dstaddr, bytes, packets
        FROM vpc_flow_logs
        WHERE {where} AND interface_id IN ({nat_interfaces_sql(where, model_enis)})
    """
    if source.remote is not None:
        # On Spark or Athena: the legs summed per address pair there (the sums below are the same),
        # classified here. Finding NAT interfaces from records needs DuckDB functions: use the model.
        if model_enis is None:
            raise ReportError(
                f"nat-savings on --engine {source.remote.name} needs --model (NAT gateway interfaces are "
                "found from the records only on DuckDB)"
            )
        legs = source.relation(f"""
            SELECT interface_id, vpc_id, nat_region, srcaddr, dstaddr, sum(bytes)::BIGINT AS bytes,
                   sum(packets)::BIGINT AS packets
            FROM ({legs}) GROUP BY interface_id, vpc_id, nat_region, srcaddr, dstaddr""")
    classified = enrich.with_aws_service(enrich.with_aws_service(legs, "dstaddr", "dst_"), "srcaddr", "src_")
    gb = f"(sum(bytes) / {BYTES_PER_GB})"
    return f"""
        WITH legs AS (
            SELECT interface_id, vpc_id, nat_region, bytes, packets,
                   coalesce(dst_service, src_service) AS service,
                   coalesce(dst_service_region, src_service_region) AS service_region,
                   CASE WHEN dst_service IS NOT NULL THEN 'to' ELSE 'from' END AS direction
            FROM ({classified})
            WHERE coalesce(dst_service, src_service) IN ('S3', 'DYNAMODB')
        )
        SELECT interface_id AS nat_interface, any_value(vpc_id) AS vpc_id, nat_region AS region, service,
               sum(bytes)::BIGINT AS bytes,
               (sum(bytes) FILTER (WHERE direction = 'to'))::BIGINT AS bytes_to_service,
               (sum(bytes) FILTER (WHERE direction = 'from'))::BIGINT AS bytes_from_service,
               sum(packets)::BIGINT AS packets,
               round({gb}, 3) AS gb,
               round({gb} * {float(options.price_per_gb)}, 2) AS nat_processing_usd,
               'com.amazonaws.' || nat_region || '.' || lower(service) AS gateway_endpoint
        FROM legs
        WHERE service_region = nat_region
        GROUP BY interface_id, nat_region, service
        ORDER BY bytes DESC, nat_interface, service
        {limit(options)}
    """


def _model_nat_interfaces(model) -> list[str] | None:
    if model is None:
        return None
    enis = []
    for eni in getattr(model, "network_interfaces", None) or []:
        if str(getattr(eni, "interface_type", "")).endswith("nat_gateway"):
            enis.append(eni.id)
    return enis


def run(source: Source, options: Options) -> Result:
    path = aws_ranges.locate(options.ip_ranges)
    created = enrich.install_aws_ranges(source.con, path)
    model_enis = _model_nat_interfaces(options.model)
    table = fetch(source, sql(source, options, model_enis))
    notes = [
        f"NAT data processing at ${options.price_per_gb}/GB (GB = 2^30 bytes); AWS ip-ranges.json createDate {created}",
        "NAT gateway interfaces from "
        + ("the model" if model_enis is not None else "records whose pkt-dstaddr differs from dstaddr"),
    ]
    if model_enis is None and table.num_rows == 0:
        found = source.query(
            f"SELECT count(*) AS n FROM vpc_flow_logs WHERE pkt_dstaddr IS NOT NULL AND {source.where(options.period)}"
        )
        if found.column("n")[0].as_py() == 0:
            notes.append("no record has pkt-dstaddr: NAT gateways cannot be found without it; give --model")
    return Result(NAME, TITLE, table, notes)
