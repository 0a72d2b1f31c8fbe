"""Top talkers by bytes or packets, per source/destination pair or per network interface, per time bucket."""

from __future__ import annotations

from vpcflow.reports.base import Options, ReportError, Result, fetch
from vpcflow.reports.source import Source

NAME = "top-talkers"
TITLE = "Top talkers"

KEYS = {
    "pair": ("srcaddr AS source, dstaddr AS destination", "source, destination", "srcaddr IS NOT NULL"),
    "eni": ("interface_id", "interface_id", "interface_id IS NOT NULL"),
}


def aggregate_sql(where: str, options: Options, *, duckdb: bool = False) -> str:
    if options.by not in KEYS:
        raise ReportError(f"--by {options.by!r}: choose pair or eni")
    if options.rank_by not in ("bytes", "packets"):
        raise ReportError(f"--rank-by {options.rank_by!r}: choose bytes or packets")
    select, names, present = KEYS[options.by]
    # Columns listed, not `* EXCLUDE`: the aggregation also runs on Spark and Athena (docs/scaling.md).
    other = "packets" if options.rank_by == "bytes" else "bytes"
    bucket = int(options.bucket)
    # Bucketed by the record's `start`: a flow belongs to the bucket its first packet fell in.
    bucket_expr = f"(start // {bucket}) * {bucket}" if bucket > 0 else "NULL::BIGINT"
    top = int(options.top) if options.top and options.top > 0 else 0
    totals = f"""
            SELECT {bucket_expr} AS bucket_start, {select},
                   sum(bytes)::BIGINT AS bytes, sum(packets)::BIGINT AS packets, count(*) AS records
            FROM vpc_flow_logs
            WHERE {where} AND {present} AND log_status = 'OK'
            GROUP BY ALL"""
    ranked_from = "totals"
    if duckdb and top:
        # On DuckDB, rank only the rows that can make a bucket's top N: those at least as large as
        # the bucket's N-th largest total (`max(x, n)`, a top-N aggregate). Ties at the cut are all
        # kept, so the ranking is exact; the window then sorts thousands of rows instead of every
        # pair (68 s -> 29 s on 100M records of mostly distinct pairs, BENCHMARKS.md).
        totals = f"""MATERIALIZED ({totals}),
        cut AS (
            SELECT bucket_start AS cut_bucket, list_min(max({options.rank_by}, {top})) AS least
            FROM totals GROUP BY bucket_start
        )"""
        ranked_from = f"totals JOIN cut ON bucket_start IS NOT DISTINCT FROM cut_bucket WHERE {options.rank_by} >= least"
    else:
        totals = f"({totals})"
    return f"""
        WITH totals AS {totals}
        SELECT bucket_start, row_number() OVER (PARTITION BY bucket_start ORDER BY {options.rank_by} DESC,
                   {other} DESC, {names}) AS rank, {names}, bytes, packets, records
        FROM {ranked_from}
        {f"QUALIFY rank <= {top}" if top else ""}
        ORDER BY bucket_start, rank
    """


def sql(source: Source, options: Options) -> str:
    inner = aggregate_sql(source.where(options.period), options, duckdb=source.remote is None)
    inner = source.relation(inner)
    return f"SELECT to_timestamp(bucket_start) AS bucket, * EXCLUDE (bucket_start) FROM ({inner}) ORDER BY bucket_start, rank"


def run(source: Source, options: Options) -> Result:
    title = f"{TITLE} by {options.rank_by}, per {'pair' if options.by == 'pair' else 'network interface'}"
    notes = [f"time buckets of {options.bucket}s by record start" if options.bucket else "whole period"]
    return Result(NAME, title, fetch(source, sql(source, options)), notes)
