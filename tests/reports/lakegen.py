"""Small lakes for report tests, written with pyarrow in the lake's layout (vpcflow.lake.layout).

`write_lake(root, records)` takes dicts keyed by lake column (absent fields null) and writes
`vpc_flow_logs/aws_account_id=.../aws_region=.../year=/month=/day=[/hour=]/part-N.parquet`, the
partition taken from each record's `end` in UTC, as the lake does.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vpcflow.records.catalog import vpc_schema


def flow(
    src,
    dst,
    sport,
    dport,
    *,
    action="ACCEPT",
    proto=6,
    packets=1,
    bytes=40,
    start=1_764_000_000,
    end=None,
    eni="eni-0a1b2c3d4e5f60001",
    account="123456789012",
    region="eu-west-1",
    **more,
):
    record = {
        "version": 2,
        "account_id": account,
        "interface_id": eni,
        "srcaddr": src,
        "dstaddr": dst,
        "srcport": sport,
        "dstport": dport,
        "protocol": proto,
        "packets": packets,
        "bytes": bytes,
        "start": start,
        "end": end if end is not None else start + 30,
        "action": action,
        "log_status": "OK",
        "region": region,
    }
    record.update(more)
    return record


def write_lake(
    root: Path, records: list[dict], *, hourly: bool = False, files_per_partition: int = 1
) -> Path:
    schema = vpc_schema()
    parts: dict[tuple, list[dict]] = defaultdict(list)
    for record in records:
        when = datetime.fromtimestamp(record["end"], UTC)
        key = (
            record.get("account_id") or "unknown",
            record.get("region") or "unknown",
            when.year,
            when.month,
            when.day,
            when.hour if hourly else None,
        )
        parts[key].append(record)
    for (account, region, year, month, day, hour), rows in parts.items():
        folder = (
            root
            / "vpc_flow_logs"
            / f"aws_account_id={account}"
            / f"aws_region={region}"
            / f"year={year:04d}"
            / f"month={month:02d}"
            / f"day={day:02d}"
        )
        if hour is not None:
            folder = folder / f"hour={hour:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        step = -(-len(rows) // files_per_partition)
        for n in range(files_per_partition):
            chunk = rows[n * step : (n + 1) * step]
            if chunk:
                pq.write_table(pa.Table.from_pylist(chunk, schema=schema), folder / f"part-{n}.parquet")
    (root / "_vpcflow").mkdir(parents=True, exist_ok=True)
    return root
