"""Seeded flow log files in AWS's S3 layout, for the lake's tests and benchmark.

Every record's `packets` is its serial number (first_id, first_id+1, ...), so a test can prove each
record is in the lake exactly once by reading `packets` back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from vpcflow.records.catalog import vpc_schema
from vpcflow.records.formats import LogFormat
from vpcflow.records.writer import write_text

DEFAULT = LogFormat.default()
_ADDRESSES = pa.array([f"10.{i // 250}.{i % 250}.{(i * 7) % 250 + 1}" for i in range(2000)])
_ENIS = pa.array([f"eni-{i:017x}" for i in range(200)])


@dataclass(frozen=True)
class Tree:
    root: Path
    files: list[Path]
    records: int
    first_id: int


def records(n: int, *, first_id: int, window: int, account: str, rng: np.random.Generator) -> pa.Table:
    """`n` default-format records whose `end` falls in the 5-minute window starting at `window`."""
    end = window + rng.integers(0, 300, n)
    start = end - rng.integers(0, 60, n)
    action = pa.array(np.where(rng.random(n) < 0.8, "ACCEPT", "REJECT"))
    columns = {
        "version": pa.array(np.full(n, 2, np.int32)),
        "account_id": pa.array([account] * 1).take(np.zeros(n, np.int64)),
        "interface_id": _ENIS.take(rng.integers(0, len(_ENIS), n)),
        "srcaddr": _ADDRESSES.take(rng.integers(0, len(_ADDRESSES), n)),
        "dstaddr": _ADDRESSES.take(rng.integers(0, len(_ADDRESSES), n)),
        "srcport": pa.array(rng.integers(1024, 65535, n).astype(np.int32)),
        "dstport": pa.array(rng.choice(np.array([22, 80, 443, 3389, 5432], np.int32), n)),
        "protocol": pa.array(rng.choice(np.array([6, 17, 1]), n)),
        "packets": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
        "bytes": pa.array(rng.integers(40, 100_000, n)),
        "start": pa.array(start),
        "end": pa.array(end),
        "action": action,
        "log_status": pa.array(["OK"] * 1).take(np.zeros(n, np.int64)),
    }
    return pa.table(columns)


def aws_key(
    account: str, region: str, window: int, flow_log: str, seq: int, *, hive: bool, hourly: bool
) -> str:
    when = datetime.fromtimestamp(window, UTC)
    if hive:
        folder = (
            f"AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/"
            f"year={when:%Y}/month={when:%m}/day={when:%d}/" + (f"hour={when:%H}/" if hourly else "")
        )
    else:
        folder = f"AWSLogs/{account}/vpcflowlogs/{region}/{when:%Y/%m/%d}/" + (
            f"{when:%H}/" if hourly else ""
        )
    return f"{folder}{account}_vpcflowlogs_{region}_{flow_log}_{when:%Y%m%dT%H%MZ}_{seq:08x}.log.gz"


def write_tree(
    root: Path,
    *,
    files: int = 6,
    records_per_file: int = 500,
    start: int = 1_764_000_000,  # 2025-11-24T16:00:00Z
    accounts: tuple[str, ...] = ("123456789012",),
    regions: tuple[str, ...] = ("us-east-1",),
    first_id: int = 0,
    seed: int = 0,
    hive: bool = False,
    hourly: bool = False,
    window_step: int = 300,
) -> Tree:
    """Gzip text objects as AWS delivers them: one per account, Region and 5-minute window."""
    rng = np.random.default_rng(seed)
    written, next_id = [], first_id
    for i in range(files):
        account = accounts[i % len(accounts)]
        region = regions[(i // len(accounts)) % len(regions)]
        window = start + (i // (len(accounts) * len(regions))) * window_step
        key = aws_key(
            account, region, window, "fl-0123456789abcdef0", seed * 1_000_003 + i, hive=hive, hourly=hourly
        )
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(
            records(records_per_file, first_id=next_id, window=window, account=account, rng=rng),
            path,
            DEFAULT,
        )
        written.append(path)
        next_id += records_per_file
    return Tree(root, written, next_id - first_id, first_id)


def lake_schema() -> pa.Schema:
    return vpc_schema()
