"""A small lake written with pyarrow in the layout ingest writes, and the records it holds.

Records are plain dicts (the lake's columns plus `_account`, `_region`, `_date`, `_hour`: the
partition they were written to), so tests compute expected answers in plain Python.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vpcflow.query.engine import DuckDBEngine
from vpcflow.records.catalog import vpc_schema

SCHEMA = vpc_schema()
TODAY = datetime.now(UTC).date()

# Days of AWS's example queries (spec §7.2, §7.4), their edges, and days around today for
# `current_date - interval '7' day`. Days in HOURLY are written with hour folders (a mixed lake).
DAYS = [date(2020, 5, 4), date(2021, 1, 1), date(2021, 1, 15), date(2021, 1, 31), date(2021, 2, 1),
        date(2021, 2, 10), date(2021, 2, 28), date(2021, 3, 1), date(2021, 3, 30), date(2021, 3, 31),
        date(2021, 4, 1), date(2021, 4, 29), date(2021, 4, 30)]  # fmt: skip
DAYS += [TODAY - timedelta(days=d) for d in (0, 1, 3, 6, 7, 8, 30)]
HOURLY = {date(2021, 2, 10), date(2021, 4, 1), TODAY - timedelta(days=1)}
ADDRESSES = ["10.117.1.22", "10.117.3.4", "10.0.1.14", "10.0.2.7", "10.1.117.9", "192.0.2.10", "192.0.2.200",
             "198.51.100.7", "203.0.113.5", "172.31.16.139", "2001:db8:1234:a100:8d6e:3477:df66:f105"]  # fmt: skip
ENIS = [f"eni-{i:017x}" for i in range(6)]


def make_records(seed: int = 7, per_day: int = 120) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for day in DAYS:
        midnight = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        for i in range(per_day):
            end = midnight + rng.randrange(60, 86_400)
            start = end - rng.randrange(0, 60)
            account = rng.choice(["123456789012", "210987654321"])
            region = rng.choice(["us-east-1", "eu-west-1"])
            rec = {name: None for name in SCHEMA.names}
            rec.update(version=5, account_id=account, interface_id=rng.choice(ENIS), start=start, end=end,
                       vpc_id="vpc-0a1b2c3d", subnet_id="subnet-0a1b2c3d", region=region, az_id="use1-az1")  # fmt: skip
            if i % 40 == 39:
                rec.update(log_status=rng.choice(["NODATA", "SKIPDATA"]))
            else:
                src, dst = rng.sample(ADDRESSES, 2)
                rec.update(
                    srcaddr=src, dstaddr=dst, srcport=rng.randrange(1024, 65535), dstport=rng.choice([443, 22, 80, 3389, 53]),
                    protocol=rng.choice([6, 6, 17, 1]), packets=rng.randrange(1, 500), bytes=rng.randrange(40, 90_000),
                    action=rng.choice(["ACCEPT", "ACCEPT", "REJECT"]), log_status="OK", tcp_flags=rng.choice([0, 2, 18, 19]),
                    type="IPv6" if ":" in src else "IPv4", pkt_srcaddr=src, pkt_dstaddr=dst,
                    flow_direction=rng.choice(["ingress", "egress"]),
                )  # fmt: skip
            when = datetime.fromtimestamp(end, UTC)
            rec.update(
                _account=account,
                _region=region,
                _date=when.date(),
                _hour=when.hour if day in HOURLY else None,
            )
            records.append(rec)
    return records


def partition_folder(root: Path, rec: dict, table: str = "vpc_flow_logs") -> Path:
    d = rec["_date"]
    folder = (root / table / f"aws_account_id={rec['_account']}" / f"aws_region={rec['_region']}"
              / f"year={d.year:04d}" / f"month={d.month:02d}" / f"day={d.day:02d}")  # fmt: skip
    return folder / f"hour={rec['_hour']:02d}" if rec["_hour"] is not None else folder


def write_lake(root: Path, records: list[dict], *, files_per_partition: int = 1) -> Path:
    """Write `records` as Parquet in the lake layout: hive folders, record columns only."""
    groups: dict[Path, list[dict]] = defaultdict(list)
    for rec in records:
        groups[partition_folder(root, rec)].append(rec)
    for folder, recs in groups.items():
        folder.mkdir(parents=True, exist_ok=True)
        for part in range(files_per_partition):
            chunk = recs[part::files_per_partition]
            table = pa.Table.from_pylist([{k: r[k] for k in SCHEMA.names} for r in chunk], schema=SCHEMA)
            pq.write_table(table, folder / f"part-{part:05d}.parquet", compression="zstd")
    (root / "_vpcflow").mkdir(exist_ok=True)
    (root / "_vpcflow" / "manifest.jsonl").write_text("")
    return root


@pytest.fixture(scope="session")
def records() -> list[dict]:
    return make_records()


@pytest.fixture(scope="session")
def lake(tmp_path_factory, records) -> Path:
    return write_lake(tmp_path_factory.mktemp("lake"), records)


@pytest.fixture
def engine(lake):
    with DuckDBEngine(lake) as eng:
        yield eng
