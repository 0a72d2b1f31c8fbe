"""Engine benchmark: the same Athena SQL on DuckDB and on Spark (local mode) over the same lake, in the
same run, with the Athena estimate of each query (bytes scanned from the Parquet footers x price).
Prints times, the Spark/DuckDB ratio, Spark's start-up cost, and the Athena estimate.

    .venv/bin/python bench/bench_engines.py                         # 10 million records
    .venv/bin/python bench/bench_engines.py --records 1000000 --repeat 2

The lake is bench_query.py's (generated once, seeded, under bench/data/query-<N>/: one account, one
region, 10 daily partitions). Queries: bench_query.py's five AWS examples, plus a full-scan
aggregation (rejected records per source over every partition).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_query import DAYS, best_of, generate, queries  # noqa: E402
from vpcflow.query import open_engine, run_sql  # noqa: E402
from vpcflow.query.athena_cost import estimate  # noqa: E402

FULL_SCAN = ("rejects per source (full)",
             "SELECT srcaddr, count(*) AS records, sum(bytes) AS bytes FROM vpc_flow_logs WHERE action = 'REJECT' "
             "GROUP BY srcaddr ORDER BY records DESC, srcaddr LIMIT 10")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    args = parser.parse_args()
    root = generate(args.data / f"query-{args.records}", args.records)
    work = [(name, athena) for name, athena, _ in queries(root)] + [FULL_SCAN]

    from vpcflow.query.engine_spark import session

    t0 = time.perf_counter()
    spark = session(args.master, conf={"spark.ui.enabled": "false"})
    started = time.perf_counter() - t0
    t0 = time.perf_counter()
    spark_engine = open_engine(root, "spark", spark=spark)
    views = time.perf_counter() - t0
    duck = open_engine(root)

    print(
        f"{args.records:,} records, {DAYS} daily partitions, best of {args.repeat} (Spark after one warm-up run)"
    )
    print(f"Spark {args.master}: session start {started:.1f} s, lake views {views:.1f} s (once per process)")
    print(
        f"{'query':28} {'duckdb s':>9} {'spark s':>9} {'spark/duckdb':>12} {'athena scan':>12} {'athena $':>10}"
    )
    ratios = []
    for name, sql in work:
        d, want = best_of(lambda s=sql: run_sql(duck, s), args.repeat)
        run_sql(spark_engine, sql)  # warm-up: code generation, file footers
        s, got = best_of(lambda s=sql: run_sql(spark_engine, s), args.repeat)
        assert got.num_rows == want.num_rows, (name, got.num_rows, want.num_rows)
        if "ORDER BY" in sql or "LIMIT" not in sql:
            assert sorted(map(str, got.to_pylist())) == sorted(map(str, want.to_pylist())), name
        cost = estimate(root, sql)
        ratios.append(s / d)
        print(f"{name:28} {d:9.3f} {s:9.3f} {s / d:12.1f} {cost.bytes / 2**20:9.1f} MB {cost.usd:10.6f}")
    print(f"{'geometric mean spark/duckdb':28} {'':9} {'':9} {statistics.geometric_mean(ratios):12.1f}")
    spark.stop()


if __name__ == "__main__":
    main()
