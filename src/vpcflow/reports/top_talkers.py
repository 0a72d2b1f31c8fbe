"""Top talkers by bytes or packets, per source/destination pair or per network interface, per time bucket.

On DuckDB, the per-pair ranking has two plans with the same answer. The plain one sums every
(bucket, pair): exact and, when nearly every record is its own pair, the cheapest. The slot plan
first sums each bucket's records by SLOTS hash slots of their pair, then sums by address only the
pairs of the slots that can hold a top pair (see slot_sql); when a few heavy pairs stand out, as
in a VPC's own traffic, that is a few percent of the pairs. Which plan runs is decided on a sample
(slots_pay_off); the answer never depends on it. Otherwise, when the lake's files prove on which
days records start, the plain plan runs one statement a day (day_plan): smaller hash tables, 43 ->
22 s on the lake of one-off pairs.
"""

from __future__ import annotations

import pyarrow as pa

from vpcflow.errors import QueryError
from vpcflow.reports.base import Options, ReportError, Result, fetch
from vpcflow.reports.days import DAY, day_predicate, start_days
from vpcflow.reports.source import Source, sample_of

SLOTS = 1 << 14  # hash slots a bucket, for the slot plan
SAMPLE_CANDIDATES = 0.25  # the slot plan runs when a sample keeps at most this share of its slots

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
    select, _, present = KEYS[options.by]
    # Columns listed, not `* EXCLUDE`: the aggregation also runs on Spark and Athena (docs/scaling.md).
    top = _top(options)
    totals = f"""
            SELECT {_bucket_expr(options)} AS bucket_start, {select},
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
    return f"WITH totals AS {totals} {_ranked(ranked_from, options)}"


def _ranked(rows: str, options: Options) -> str:
    """SQL: the totals in `rows` (what follows FROM) ranked within their bucket, the top N kept."""
    names = KEYS[options.by][1]
    other = "packets" if options.rank_by == "bytes" else "bytes"
    top = _top(options)
    return f"""
        SELECT bucket_start, row_number() OVER (PARTITION BY bucket_start ORDER BY {options.rank_by} DESC,
                   {other} DESC, {names}) AS rank, {names}, bytes, packets, records
        FROM {rows}
        {f"QUALIFY rank <= {top}" if top else ""}
        ORDER BY bucket_start, rank"""


def _top(options: Options) -> int:
    return int(options.top) if options.top and options.top > 0 else 0  # 0: every row


def _bucket_expr(options: Options) -> str:
    # Bucketed by the record's `start`: a flow belongs to the bucket its first packet fell in.
    bucket = int(options.bucket)
    return f"(start // {bucket}) * {bucket}" if bucket > 0 else "NULL::BIGINT"


def _slot_bounds(relation: str, options: Options, slots: int) -> str:
    """SQL: per (bucket, slot) of `relation` (records with a `bucket_start`), the slot's sum of the
    ranked measure and whether the slot can hold one of the bucket's top pairs.

    Why the test is exact: a pair lies in one slot, so the largest records of N different slots
    belong to N different pairs, each totalling at least its largest record; the N-th largest of
    the slots' largest records is therefore at most the bucket's N-th largest pair total. A slot
    whose sum is below that bound holds no pair that large. (A bucket with fewer than N slots
    keeps them all.)"""
    m, top = options.rank_by, int(options.top)
    return f"""
        WITH sums AS (
            SELECT bucket_start, hash(srcaddr, dstaddr) % {slots} AS slot, sum({m}) AS total, max({m}) AS largest,
                   count(*) AS records
            FROM {relation} GROUP BY ALL
        ),
        bounds AS (
            SELECT bucket_start AS bound_bucket,
                   CASE WHEN count(largest) >= {top} THEN list_min(max(largest, {top})) ELSE 0 END AS least
            FROM sums GROUP BY bucket_start
        )
        SELECT bucket_start, slot, records, coalesce(total >= least, least = 0) AS kept
        FROM sums JOIN bounds ON bucket_start IS NOT DISTINCT FROM bound_bucket"""


def _records(relation: str, options: Options) -> str:
    """SQL: the records of `relation` (what follows FROM, with its WHERE) that a pair ranking
    counts, with their bucket."""
    return f"""(SELECT {_bucket_expr(options)} AS bucket_start, srcaddr, dstaddr, bytes, packets
            FROM {relation} AND srcaddr IS NOT NULL AND log_status = 'OK')"""


def slot_sql(where: str, options: Options) -> str:
    """The slot plan (DuckDB): totals of the pairs in the slots that can hold a top pair, to rank
    as the plain plan ranks them; exact, see _slot_bounds."""
    records = _records(f"vpc_flow_logs WHERE {where}", options)
    return f"""
        WITH kept AS (SELECT bucket_start, slot FROM ({_slot_bounds(records, options, SLOTS)}) WHERE kept)
        SELECT bucket_start, srcaddr AS source, dstaddr AS destination,
               sum(bytes)::BIGINT AS bytes, sum(packets)::BIGINT AS packets, count(*) AS records
        FROM {records}
        WHERE (bucket_start, hash(srcaddr, dstaddr) % {SLOTS}) IN (SELECT (bucket_start, slot) FROM kept)
        GROUP BY ALL"""


def slots_pay_off(source: Source, options: Options) -> bool:
    """Whether to run the slot plan (see _slots_pay_off)."""
    try:  # a plan choice must never fail a report: on any error, the plain plan
        return _slots_pay_off(source, options)
    except QueryError:
        return False


def _slots_pay_off(source: Source, options: Options) -> bool:
    """Whether the slot plan would keep few records, judged on the period's records in the lake's
    largest file (sample_of; a plan choice only: the answers are the same). The sample's slots are
    scaled to its share of each bucket's records, so that a slot holds as many records as in the
    whole lake; a lake of one-off pairs then keeps nearly all of them (every slot's sum passes the
    bound) and takes the plain plan, which reads the lake once."""
    sample = sample_of(source, options.period)
    if sample is None:
        return False
    per_bucket = []
    for relation in (f"vpc_flow_logs WHERE {source.where(options.period)}", sample):
        span = source.engine.query(
            f"SELECT min(start) AS lo, max(start) AS hi, count(*) AS n FROM {relation}"
        )
        lo, hi, n = (span.column(k)[0].as_py() for k in ("lo", "hi", "n"))
        if not n or lo is None:
            return False
        width = int(options.bucket)
        buckets = (hi // width - lo // width + 1) if width > 0 else 1
        per_bucket.append(n / buckets)
    share = min(1.0, per_bucket[1] / per_bucket[0])
    records = _records(sample, options)
    # The share of slots kept stands for the share of pairs summed again (heavy slots hold more
    # records, but those are the few pairs that repeat): 7% on the benchmark's VPC, where the
    # slot plan took 6.7 s against 11; all on the lake of one-off pairs.
    shares = source.engine.query(
        f"SELECT count(*) FILTER (WHERE kept) AS kept, count(*) AS seen "
        f"FROM ({_slot_bounds(records, options, max(64, int(SLOTS * share)))})"
    ).to_pylist()[0]
    return bool(shares["seen"]) and shares["kept"] <= SAMPLE_CANDIDATES * shares["seen"]


def _pair_top_on_duckdb(source: Source, options: Options) -> bool:
    """Whether the ranking is the one DuckDB's other plans serve: the top N pairs, read locally."""
    return source.remote is None and options.by == "pair" and bool(_top(options)) and options.rank_by in ("bytes", "packets")


def day_plan(source: Source, options: Options) -> list[int] | None:
    """The days to rank one statement a day (days.py), or None for one statement: on DuckDB, per
    pair, with buckets that divide a day, over more than one day. Each day's statement is the
    plain plan over the records that start that day; its buckets are whole, so the days' rankings
    together are the lake's."""
    bucket = int(options.bucket)
    if not _pair_top_on_duckdb(source, options) or bucket <= 0 or DAY % bucket:
        return None
    days = start_days(source, options.period)
    return days if days is not None and len(days) > 1 else None


def sql(source: Source, options: Options) -> str:
    where = source.where(options.period)
    if _pair_top_on_duckdb(source, options) and slots_pay_off(source, options):
        inner = _ranked(f"({slot_sql(where, options)})", options)
    elif (days := day_plan(source, options)) is not None:
        ranked = [source.engine.query(aggregate_sql(f"{where} AND {day_predicate(d)}", options, duckdb=True)) for d in days]
        inner = source.local(pa.concat_tables(ranked))
    else:
        inner = source.relation(aggregate_sql(where, options, duckdb=source.remote is None))
    return f"SELECT to_timestamp(bucket_start) AS bucket, * EXCLUDE (bucket_start) FROM ({inner}) ORDER BY bucket_start, rank"


def run(source: Source, options: Options) -> Result:
    title = f"{TITLE} by {options.rank_by}, per {'pair' if options.by == 'pair' else 'network interface'}"
    notes = [f"time buckets of {options.bucket}s by record start" if options.bucket else "whole period"]
    return Result(NAME, title, fetch(source, sql(source, options)), notes)
