"""What any exact top-talkers plan costs on the default reports lake: the floor under issue 6's target.

    python bench/bench_top_talkers_floor.py [--records 100000000]

top-talkers ranks (hour, source, destination) pairs by their summed bytes. On bench_reports.py's
default lake almost every record is its own pair (98.2M pairs in 100M records, bytes uniform in
40-2M), so no bound prunes a pair without summing it (BENCHMARKS.md): any exact plan reads the
columns and aggregates ~98M groups. This prints, in one run on the same files:

- reading alone: pyarrow's dataset reader, and DuckDB computing a 64-bit hash of each pair;
- DuckDB's aggregate by (hour, 64-bit hash of the pair), the narrowest key, in one statement and
  one statement a day (the lake's day partitions);
- the text key a day (what the report's plain plan groups by);
- the cache effect on one day held in memory, ordered by hour: one aggregate against one an hour.

Every aggregate's sums are used (`count(b)`): with `count(*)` over it, DuckDB drops the unused
sum and only finds the distinct keys, which is cheaper than any report can be.

The lake must exist (bench_reports.py writes it). Nothing here is a vpcflow plan; the report's own
time is bench_reports.py's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb
import pyarrow.dataset as ds

HERE = Path(__file__).resolve().parent


def clock(label: str, fn) -> float:
    t = time.perf_counter()
    out = fn()
    took = time.perf_counter() - t
    print(f"{label:<58} {took:7.2f} s   {out}", flush=True)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000_000)
    args = parser.parse_args()
    table = HERE / "data" / f"reports-{args.records}" / "vpc_flow_logs"
    files = sorted(table.rglob("*.parquet"))
    if not files:
        raise SystemExit(f"{table}: no lake; run bench/bench_reports.py --records {args.records} first")
    days = sorted({f.parent for f in files})
    glob = f"{table}/**/*.parquet"
    con = duckdb.connect()

    def pyarrow_read():
        rows = 0
        for batch in ds.dataset([str(f) for f in files]).to_batches(columns=["start", "srcaddr", "dstaddr", "bytes"]):
            rows += batch.num_rows
        return rows

    def sql(q):
        return lambda: con.sql(q).fetchall()[0]

    def per_day(key: str):
        def run():
            return sum(
                con.sql(
                    f"SELECT count(b) FROM (SELECT start // 3600 AS h, {key}, sum(bytes) AS b "
                    f"FROM read_parquet('{day}/*.parquet') GROUP BY ALL)"
                ).fetchall()[0][0]
                for day in days
            )

        return run

    clock("pyarrow: read start, srcaddr, dstaddr, bytes", pyarrow_read)
    clock(
        "DuckDB: read and hash each pair",
        sql(f"SELECT sum(hash(srcaddr, dstaddr)) % 1000, sum(bytes) FROM read_parquet('{glob}')"),
    )
    clock(
        "DuckDB: aggregate (hour, hash of pair), one statement",
        sql(
            f"SELECT count(b) FROM (SELECT start // 3600 AS h, hash(srcaddr, dstaddr) AS k, sum(bytes) AS b "
            f"FROM read_parquet('{glob}') GROUP BY ALL)"
        ),
    )
    clock(f"DuckDB: aggregate (hour, hash of pair), {len(days)} statements", per_day("hash(srcaddr, dstaddr) AS k"))
    clock(f"DuckDB: aggregate (hour, source, destination), {len(days)} statements", per_day("srcaddr, dstaddr"))

    con.sql(
        f"CREATE TABLE day AS SELECT start // 3600 AS h, srcaddr, dstaddr, bytes FROM read_parquet('{days[0]}/*.parquet') "
        "ORDER BY h"
    )
    hours = [h for (h,) in con.sql("SELECT DISTINCT h FROM day ORDER BY h").fetchall()]
    clock(
        "in memory, one day: aggregate (hour, source, destination)",
        sql("SELECT count(b) FROM (SELECT h, srcaddr, dstaddr, sum(bytes) AS b FROM day GROUP BY ALL)"),
    )
    clock(
        f"in memory, one day: {len(hours)} aggregates, one an hour",
        lambda: sum(
            con.sql(
                f"SELECT count(b) FROM (SELECT srcaddr, dstaddr, sum(bytes) AS b FROM day WHERE h = {h} GROUP BY ALL)"
            ).fetchall()[0][0]
            for h in hours
        ),
    )


if __name__ == "__main__":
    main()
