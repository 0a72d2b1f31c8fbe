"""How fast vpcflow reads gzip flow logs into typed Arrow columns, against its peers, in one run.

    python bench/bench_read.py [--records 10000000] [--repeat 3]

Generates (seeded, cached under bench/data/) gzip text flow logs in AWS's S3 layout, then runs each
reader in its own subprocess (so peak memory is its own) over the same files and prints records/s,
peak RSS, and each peer's speed relative to vpcflow. Peers:
- zcat: the system's gzip inflating to /dev/null (the floor of a naive pipeline)
- isal, libdeflate: the fastest inflaters from maintained packages, inflating only
- duckdb: read_csv over the same gzip files with the catalog's types, every column aggregated so
  that every column is parsed (DuckDB skips columns a query does not use)
- polars: read_csv per file with the same types
- flowlogs-reader: its S3 reader's per-record parsing (csv.DictReader + FlowRecord), on a sample of
  the files (it is slow), scaled to records/s
- vpcflow: `vpcflow.records.reader.read_many` into Arrow record batches
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

PEERS = ["zcat", "isal", "libdeflate", "duckdb", "polars", "flowlogs-reader", "vpcflow"]
DEFAULT_COLUMNS = {
    "version": "INTEGER", "account-id": "VARCHAR", "interface-id": "VARCHAR", "srcaddr": "VARCHAR",
    "dstaddr": "VARCHAR", "srcport": "INTEGER", "dstport": "INTEGER", "protocol": "BIGINT", "packets": "BIGINT",
    "bytes": "BIGINT", "start": "BIGINT", "end": "BIGINT", "action": "VARCHAR", "log-status": "VARCHAR",
}  # fmt: skip


def dataset(records: int) -> list[Path]:
    root = HERE / "data" / f"read-{records}"
    done = root / ".done"
    if not done.exists():  # in a subprocess, so that this process stays small for the peers it forks
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(root), "--records", str(records)], check=True)
        done.write_text("ok")
    return sorted(root.rglob("*.log.gz"))


def _prepare(name: str):
    """Import what the peer needs before the clock starts: start-up is not reading."""
    modules = {
        "isal": ["isal.igzip"], "libdeflate": ["deflate"], "duckdb": ["duckdb"], "polars": ["polars"],
        "flowlogs-reader": ["flowlogs_reader", "csv", "gzip"], "vpcflow": ["vpcflow.records.reader"],
    }  # fmt: skip
    import importlib

    for module in modules.get(name, []):
        importlib.import_module(module)


def run_peer(name: str, files: list[str], records: int) -> dict:
    """Runs inside the peer's own subprocess; returns the records it read and the seconds it took."""
    _prepare(name)
    t0 = time.perf_counter()
    if name == "zcat":
        with open(os.devnull, "wb") as null:
            subprocess.run(["zcat", *files], stdout=null, check=True)
        seen = records
    elif name == "isal":
        from isal import igzip

        seen = records
        for f in files:
            with igzip.open(f, "rb") as stream:
                while stream.read(1 << 20):
                    pass
    elif name == "libdeflate":
        import deflate

        seen = records
        for f in files:
            deflate.gzip_decompress(Path(f).read_bytes())
    elif name == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.execute("SET threads = 2")
        columns = ", ".join(f"'{k}': '{v}'" for k, v in DEFAULT_COLUMNS.items())
        aggregates = ", ".join(
            f'sum("{k}")' if v != "VARCHAR" else f'max(length("{k}"))' for k, v in DEFAULT_COLUMNS.items()
        )
        sql = (
            f"SELECT count(*), {aggregates} FROM read_csv({files!r}, delim=' ', header=true, nullstr='-', "
            f"columns={{{columns}}}, auto_detect=false)"
        )
        seen = con.execute(sql).fetchall()[0][0]
    elif name == "polars":
        import polars as pl

        schema = {k: {"INTEGER": pl.Int32, "BIGINT": pl.Int64, "VARCHAR": pl.Utf8}[v] for k, v in DEFAULT_COLUMNS.items()}
        seen = 0
        for f in files:
            seen += pl.read_csv(f, separator=" ", null_values="-", schema=schema, has_header=True).height
    elif name == "flowlogs-reader":
        import csv
        import gzip

        from flowlogs_reader import FlowRecord

        seen = 0
        for f in files:
            with gzip.open(f, "rt") as stream:
                reader = csv.DictReader(stream, delimiter=" ")
                reader.fieldnames = [n.replace("-", "_") for n in reader.fieldnames]
                for row in reader:
                    FlowRecord(row)
                    seen += 1
    elif name == "vpcflow":
        from vpcflow.records.reader import read_many

        seen = sum(batch.num_rows for _, batch in read_many(files))
    else:
        raise SystemExit(f"unknown peer {name}")
    return {"records": seen, "seconds": time.perf_counter() - t0}


def measure(name: str, files: list[Path], records: int) -> dict:
    """Run one peer in a subprocess; records/s and the child's peak RSS."""
    if name == "flowlogs-reader":  # pure Python: a sample is enough to know its rate
        sample = max(1, len(files) // 20)
        records = records * sample // len(files)
        files = files[:sample]
    cmd = [sys.executable, __file__, "--peer", name, "--records", str(records), *map(str, files)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read()
    if status != 0:
        return {"peer": name, "error": f"exit status {status}"}
    result = json.loads(out)
    result.update(peer=name, rate=result["records"] / result["seconds"], rss_mb=usage.ru_maxrss / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per peer; the best is kept")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        print(json.dumps(run_peer(args.peer, args.files, args.records)))
        return

    files = dataset(args.records)
    size = sum(f.stat().st_size for f in files)
    print(f"{args.records:,} records, {len(files)} gzip files, {size / 1e6:.0f} MB compressed; "
          f"{os.cpu_count()} cores; best of {args.repeat}")  # fmt: skip
    results = {}
    for name in args.peers.split(","):
        runs = [measure(name, files, args.records) for _ in range(1 if name == "flowlogs-reader" else args.repeat)]
        good = [r for r in runs if "rate" in r]
        results[name] = max(good, key=lambda r: r["rate"]) if good else runs[0]
    ours = results.get("vpcflow", {}).get("rate")
    print(f"| reader | records/s | peak RSS MB | vpcflow is x times faster |")
    print("| --- | ---: | ---: | ---: |")
    for name, r in results.items():
        if "rate" not in r:
            print(f"| {name} | {r['error']} | | |")
            continue
        ratio = f"{ours / r['rate']:.2f}" if ours else "-"
        print(f"| {name} | {r['rate']:,.0f} | {r['rss_mb']:,.0f} | {ratio} |")
    resource.getrusage(resource.RUSAGE_CHILDREN)


if __name__ == "__main__":
    main()
