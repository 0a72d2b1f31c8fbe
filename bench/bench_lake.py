"""How fast `vpcflow ingest` builds a lake, against DuckDB's own partitioned COPY, in one run.

    python bench/bench_lake.py [--records 10000000] [--repeat 1]

Uses the seeded gzip text flow logs in AWS's S3 layout that bench/generate.py writes (cached under
bench/data/read-N/, shared with bench_read.py). Each peer runs in its own subprocess over the same
files into a fresh folder, so its peak memory (max RSS) is its own; imports happen before the clock.
- duckdb-copy: `COPY (SELECT *, partition columns FROM read_csv(...)) TO ... (FORMAT parquet,
  PARTITION_BY (aws_account_id, aws_region, year, month, day), COMPRESSION zstd)`; account and
  region from the key, the date from `end` in UTC - the same partitions vpcflow writes. DuckDB writes
  only the file's 14 columns; vpcflow writes all of the catalog's columns (the absent ones null),
  keeps a manifest and fsyncs every file before publishing it.
- vpcflow-ingest: `vpcflow.lake.ingest` (what `vpcflow ingest SRC --lake DIR` runs).
Prints records/s, peak RSS, output size and vpcflow's speed relative to DuckDB's COPY.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

PEERS = ["duckdb-copy", "vpcflow-ingest"]
COLUMNS = {
    "version": "INTEGER", "account_id": "VARCHAR", "interface_id": "VARCHAR", "srcaddr": "VARCHAR",
    "dstaddr": "VARCHAR", "srcport": "INTEGER", "dstport": "INTEGER", "protocol": "BIGINT", "packets": "BIGINT",
    "bytes": "BIGINT", "start": "BIGINT", "end": "BIGINT", "action": "VARCHAR", "log_status": "VARCHAR",
}  # fmt: skip


def dataset(records: int) -> Path:
    root = HERE / "data" / f"read-{records}"
    if not (root / ".done").exists():  # in a subprocess, so this process stays small for the peers it forks
        subprocess.run(
            [sys.executable, str(HERE / "generate.py"), str(root), "--records", str(records)], check=True
        )
        (root / ".done").write_text("ok")
    return root


def duckdb_copy(files: list[str], out: Path) -> int:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
    listing = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    t0 = time.perf_counter()
    con.execute(
        f"""
        COPY (
          SELECT * EXCLUDE (filename),
            regexp_extract(filename, 'AWSLogs/(\\d{{12}})/vpcflowlogs/', 1) AS aws_account_id,
            regexp_extract(filename, '/vpcflowlogs/([a-z0-9-]+)/', 1) AS aws_region,
            strftime(to_timestamp("end"), '%Y') AS year,
            strftime(to_timestamp("end"), '%m') AS month,
            strftime(to_timestamp("end"), '%d') AS day
          FROM read_csv({listing}, delim = ' ', header = true, columns = {columns}, nullstr = '-', filename = true)
        ) TO '{out}' (FORMAT parquet, PARTITION_BY (aws_account_id, aws_region, year, month, day), COMPRESSION zstd)
        """
    )
    seconds = time.perf_counter() - t0
    glob = f"{out}/**/*.parquet"
    records = con.execute(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall()[0][0]
    return records, seconds


def vpcflow_ingest(root: str, out: Path) -> tuple[int, float]:
    from vpcflow.lake import ingest, local_sources

    t0 = time.perf_counter()
    result = ingest(local_sources([root], out), out)
    return result.records, time.perf_counter() - t0


def run_peer(name: str, root: str, out: Path) -> dict:
    if name == "duckdb-copy":
        files = sorted(str(p) for p in Path(root).rglob("*.log.gz"))
        records, seconds = duckdb_copy(files, out)
    else:
        records, seconds = vpcflow_ingest(root, out)
    size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    return {"records": records, "seconds": seconds, "files": len(list(out.rglob("*.parquet"))), "bytes": size}


def measure(name: str, root: Path, scratch: Path) -> dict:
    out = scratch / name
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--peer", name, "--root", str(root), "--out", str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{name} failed (status {status})")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    shutil.rmtree(out, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per peer; the best is kept")
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        import duckdb  # noqa: F401

        from vpcflow.lake import ingest  # noqa: F401 - imports before the clock

        print(json.dumps(run_peer(args.peer, args.root, Path(args.out))))
        return

    root = dataset(args.records)
    inputs = sorted(root.rglob("*.log.gz"))
    print(
        f"{args.records:,} records in {len(inputs)} gzip objects ({sum(p.stat().st_size for p in inputs) / 1e6:,.0f} MB), "
        f"{os.cpu_count()} CPUs, repeat {args.repeat}"
    )
    results = {}
    with tempfile.TemporaryDirectory(dir=HERE / "data", prefix="lake-") as scratch:
        for name in PEERS:
            runs = [measure(name, root, Path(scratch)) for _ in range(args.repeat)]
            results[name] = min(runs, key=lambda r: r["seconds"])
    base = results["duckdb-copy"]
    print(
        f"{'peer':16} {'records':>12} {'seconds':>8} {'records/s':>12} {'peak MB':>8} {'files':>6} {'out MB':>8} {'vs duckdb':>9}"
    )
    for name, r in results.items():
        rate = r["records"] / r["seconds"]
        ratio = rate / (base["records"] / base["seconds"])
        print(
            f"{name:16} {r['records']:>12,} {r['seconds']:>8.2f} {rate:>12,.0f} {r['peak_mb']:>8,.0f} {r['files']:>6} "
            f"{r['bytes'] / 1e6:>8,.1f} {ratio:>8.2f}x"
        )
    if results["vpcflow-ingest"]["records"] != base["records"]:
        raise SystemExit("the peers disagree on the number of records")


if __name__ == "__main__":
    main()
