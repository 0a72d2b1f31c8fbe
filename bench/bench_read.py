"""How fast vpcflow reads gzip flow logs into typed Arrow columns, against its peers, in one run.

    python bench/bench_read.py [--records 10000000] [--repeat 3] [--peers zcat,duckdb,...]
    python bench/bench_read.py --one-file [--records 10000000]   # one big gzip file, and a pipe

Generates (seeded, cached under bench/data/read-N/) gzip text flow logs in AWS's S3 layout with
bench/generate.py, then runs each reader in its own subprocess over the same files, and prints
records/s, the subprocess's peak RSS, and how many times faster vpcflow is than each peer. Every
peer inflates and splits every record into typed columns, except the inflate-only floors:
- zcat: the system's gzip, inflating to /dev/null.
- isal, libdeflate: the fastest inflaters from maintained packages (python-isal, deflate), inflating
  only; `isal` streams on one core, `*-Ncores` inflate whole files on N threads (both release the
  GIL), which is the "fastest inflater alone on the same cores" of the target.
- duckdb: read_csv over the same files with the catalog's types, `nullstr='-'`, SET threads = N,
  and an aggregate over every column (DuckDB skips parsing columns a query does not use).
- polars: read_csv per file with the same types (polars uses every core within a file).
- flowlogs-reader: what its S3 reader does per object (gzip + csv.DictReader + FlowRecord), on a
  twentieth of the files (it is slow), scaled to records/s.
- vpcflow: `vpcflow.records.reader.read_many` (one pipeline across the files) into Arrow batches.
- vpcflow-twice: the same over every file twice: twice the input, so its peak RSS against vpcflow's
  shows whether memory stays flat whatever the input size.
- vpcflow-pipe (--one-file): `read_batches` on a pipe from `cat FILE`, as `... | vpcflow cat -`.
With --one-file every object's records go into one gzip file of one member (ISA-L level 1, as the
objects; cached as bench/data/read-N-one/all.log.gz), the input of a CloudWatch Logs export or a
concatenated archive: vpcflow's streaming path (ISA-L inflating on its own thread while the pool
parses), which no whole-file inflater splits across cores, so the inflate-only floors run on one.
Imports happen before the clock starts; the best of --repeat runs is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORES = os.cpu_count() or 1
PEERS = [
    "zcat", "isal", f"isal-{CORES}cores", "libdeflate", f"libdeflate-{CORES}cores", "duckdb", "polars",
    "flowlogs-reader", "vpcflow", "vpcflow-twice",
]  # fmt: skip
ONE_FILE_PEERS = ["zcat", "isal", "libdeflate", "duckdb", "polars", "vpcflow", "vpcflow-pipe"]
DEFAULT_COLUMNS = {
    "version": "INTEGER", "account-id": "VARCHAR", "interface-id": "VARCHAR", "srcaddr": "VARCHAR",
    "dstaddr": "VARCHAR", "srcport": "INTEGER", "dstport": "INTEGER", "protocol": "BIGINT", "packets": "BIGINT",
    "bytes": "BIGINT", "start": "BIGINT", "end": "BIGINT", "action": "VARCHAR", "log-status": "VARCHAR",
}  # fmt: skip
IMPORTS = {
    "isal": ["isal.igzip"], "libdeflate": ["deflate"], "duckdb": ["duckdb"], "polars": ["polars"],
    "flowlogs-reader": ["flowlogs_reader", "csv", "gzip"], "vpcflow": ["vpcflow.records.reader"],
}  # fmt: skip


def dataset(records: int) -> list[Path]:
    root = HERE / "data" / f"read-{records}"
    done = root / ".done"
    if not done.exists():  # in a subprocess, so that this process stays small for the peers it forks
        subprocess.run(
            [sys.executable, str(HERE / "generate.py"), str(root), "--records", str(records)], check=True
        )
        done.write_text("ok")
    return sorted(root.rglob("*.log.gz"))


def one_file(records: int) -> Path:
    """Every object's records in one gzip file of one member (the header once)."""
    from isal import igzip

    path = HERE / "data" / f"read-{records}-one" / "all.log.gz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        with igzip.open(part, "wb", compresslevel=1) as out:
            for i, f in enumerate(dataset(records)):
                text = igzip.decompress(f.read_bytes())
                out.write(text if i == 0 else text.partition(b"\n")[2])
        part.rename(path)
    return path


def _inflate_on_threads(inflate, files: list[str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(CORES) as workers:
        for _ in workers.map(lambda f: len(inflate(Path(f).read_bytes())), files):
            pass


def run_peer(name: str, files: list[str], records: int) -> dict:
    """Runs inside the peer's own subprocess: reads every file, returns records read and seconds."""
    import importlib

    for module in IMPORTS.get(name.split("-")[0] if "cores" in name or name.endswith("-pipe") else name, []):
        importlib.import_module(module)
    t0 = time.perf_counter()
    seen = records  # the inflate-only peers do not count lines
    if name == "zcat":
        with open(os.devnull, "wb") as null:
            subprocess.run(["zcat", *files], stdout=null, check=True)
    elif name == "isal":
        from isal import igzip

        for f in files:
            with igzip.open(f, "rb") as stream:
                while stream.read(1 << 20):
                    pass
    elif name == f"isal-{CORES}cores":
        from isal import igzip

        _inflate_on_threads(igzip.decompress, files)
    elif name == "libdeflate":
        import deflate

        for f in files:
            deflate.gzip_decompress(Path(f).read_bytes())
    elif name == f"libdeflate-{CORES}cores":
        import deflate

        _inflate_on_threads(deflate.gzip_decompress, files)
    elif name == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.execute(f"SET threads = {CORES}")
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

        types = {"INTEGER": pl.Int32, "BIGINT": pl.Int64, "VARCHAR": pl.Utf8}
        schema = {k: types[v] for k, v in DEFAULT_COLUMNS.items()}
        seen = sum(pl.read_csv(f, separator=" ", null_values="-", schema=schema).height for f in files)
    elif name == "flowlogs-reader":
        import csv
        import gzip

        from flowlogs_reader import FlowRecord

        seen = 0
        for f in files:  # flowlogs_reader.S3FlowLogsReader._read_file + _reader, minus the S3 client
            with gzip.open(f, "rt") as stream:
                reader = csv.DictReader(stream, delimiter=" ")
                reader.fieldnames = [n.replace("-", "_") for n in reader.fieldnames]
                for row in reader:
                    FlowRecord(row)
                    seen += 1
    elif name == "vpcflow":
        from vpcflow.records.reader import read_many

        seen = sum(batch.num_rows for _, batch in read_many(files))
    elif name == "vpcflow-pipe":
        from vpcflow.records.reader import read_batches

        cat = subprocess.Popen(["cat", *files], stdout=subprocess.PIPE)
        seen = sum(batch.num_rows for batch in read_batches(cat.stdout))
        cat.wait()
    else:
        raise SystemExit(f"unknown peer {name}")
    return {"records": seen, "seconds": time.perf_counter() - t0}


def measure(name: str, files: list[Path], records: int) -> dict:
    """Run one peer in a subprocess: records/s and the child's peak RSS (from wait4)."""
    peer = name
    if name == "flowlogs-reader":  # pure Python: a sample is enough to know its rate
        sample = max(1, len(files) // 20)
        records = records * sample // len(files)
        files = files[:sample]
    elif name == "vpcflow-twice":
        peer, files, records = "vpcflow", files * 2, records * 2
    cmd = [sys.executable, __file__, "--peer", peer, "--records", str(records), *map(str, files)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = status
    if status != 0:
        return {"peer": name, "error": f"exit status {status}"}
    result = json.loads(out)
    result.update(peer=name, rate=result["records"] / result["seconds"], rss_mb=usage.ru_maxrss / 1024)
    return result


def verdicts(results: dict) -> list[str]:
    """The foundation issue's targets, checked against this run."""
    ours = results.get("vpcflow", {}).get("rate")
    if not ours:
        return []
    lines = []

    def check(peer: str, wanted: float, text: str) -> None:
        rate = results.get(peer, {}).get("rate")
        if rate:
            ratio = ours / rate
            lines.append(
                f"- {text}: {ratio:.2f}x, {'met' if ratio >= wanted else 'NOT met'} (target {wanted}x)"
            )

    check("duckdb", 1.5, "vpcflow / DuckDB read_csv")
    check("flowlogs-reader", 30, "vpcflow / flowlogs-reader")
    inflaters = [p for p in results if "cores" in p and "rate" in results[p]]
    if inflaters:
        fastest = max(inflaters, key=lambda p: results[p]["rate"])
        check(fastest, 0.5, f"vpcflow / the fastest inflater alone on the same cores ({fastest})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per peer; the best is kept")
    parser.add_argument("--peers", help="comma-separated, from: " + ", ".join(dict.fromkeys(PEERS + ONE_FILE_PEERS)))
    parser.add_argument("--one-file", action="store_true", help="all records in one gzip file (see above)")
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        print(json.dumps(run_peer(args.peer, args.files, args.records)))
        return

    files = [one_file(args.records)] if args.one_file else dataset(args.records)
    peers = args.peers or ",".join(ONE_FILE_PEERS if args.one_file else PEERS)
    size = sum(f.stat().st_size for f in files)
    print(
        f"{args.records:,} records, {len(files)} gzip {'file' if args.one_file else 'objects'}, "
        f"{size / 1e6:.0f} MB compressed; {CORES} cores; best of {args.repeat}\n"
    )
    results = {}
    for name in peers.split(","):
        runs = [
            measure(name, files, args.records) for _ in range(1 if name == "flowlogs-reader" else args.repeat)
        ]
        good = [r for r in runs if "rate" in r]
        results[name] = max(good, key=lambda r: r["rate"]) if good else runs[0]
    ours = results.get("vpcflow", {}).get("rate")
    print("| reader | records/s | peak RSS MB | vpcflow is x times faster |")
    print("| --- | ---: | ---: | ---: |")
    for name, r in results.items():
        if "rate" not in r:
            print(f"| {name} | {r['error']} | | |")
            continue
        ratio = f"{ours / r['rate']:.2f}" if ours and name != "vpcflow-twice" else "-"
        print(f"| {name} | {r['rate']:,.0f} | {r['rss_mb']:,.0f} | {ratio} |")
    for line in verdicts(results):
        print(line)


if __name__ == "__main__":
    main()
