"""Flow log objects for the AWS tests, and a way to read a lake back.

Every record's `packets` is its serial number, so a test proves each record is in the lake exactly once.
"""

from __future__ import annotations

import gzip
import http.client
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlparse

import duckdb

from vpcflow.records import s3layout

ACCOUNT = "123456789012"
REGION = "us-east-1"
FLOW_LOG = "fl-0123456789abcdef0"
HEADER = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
WINDOW = 1_763_640_000  # 2025-11-20T12:00:00Z, on a 5-minute boundary


def record_lines(first_id: int, n: int, window: int, account: str = ACCOUNT) -> list[str]:
    lines = []
    for i in range(first_id, first_id + n):
        end = window + (i * 7) % 300
        lines.append(
            f"2 {account} eni-{i % 50:017x} 10.0.{i % 250}.1 10.1.{i % 200}.2 {1024 + i % 60000} 443 6 "
            f"{i} {40 * i + 40} {end - 5} {end} {'ACCEPT' if i % 5 else 'REJECT'} OK"
        )
    return lines


def flow_object(first_id: int, n: int, window: int) -> bytes:
    """A gzip text object as AWS delivers it: the header line, then the records."""
    return gzip.compress(("\n".join([HEADER, *record_lines(first_id, n, window)]) + "\n").encode(), mtime=0)


def object_key(index: int, *, prefix: str = "logs", window: int = WINDOW) -> str:
    """The key of the index-th object: one 5-minute window per 20 objects, rotated files within it."""
    when = window + (index // 20) * 300
    return s3layout.build_key(ACCOUNT, REGION, FLOW_LOG, when, prefix=prefix, sequence=index % 20).key


def lake_packets(lake: Path, table: str = "vpc_flow_logs") -> list[int]:
    files = sorted((lake / table).rglob("*.parquet"))
    if not files:
        return []
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT packets FROM read_parquet(?, hive_partitioning = true) ORDER BY packets",
            [[str(f) for f in files]],
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def lake_rows(lake: Path, columns: str, table: str = "vpc_flow_logs") -> list[tuple]:
    files = sorted((lake / table).rglob("*.parquet"))
    con = duckdb.connect()
    try:
        return con.execute(
            f"SELECT {columns} FROM read_parquet(?, hive_partitioning = true) ORDER BY ALL",
            [[str(f) for f in files]],
        ).fetchall()
    finally:
        con.close()


def put_many(
    endpoint: str, bucket: str, keys: list[str], body: Callable[[int], bytes], threads: int = 4
) -> None:
    """PUT many objects into moto's S3 over plain keep-alive HTTP connections: the same server and
    protocol, without boto3's per-call work, which is most of the time of a test that needs a
    thousand objects. (moto does not check signatures; real S3 would refuse these requests.)"""
    url = urlparse(endpoint)
    local = threading.local()

    def put(i: int) -> None:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        local.conn.request("PUT", f"/{bucket}/{quote(keys[i])}", body=body(i))
        response = local.conn.getresponse()
        response.read()
        if response.status != 200:
            raise AssertionError(f"PUT {keys[i]}: HTTP {response.status}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(put, range(len(keys))))
