"""The lake's layout on disk: a contract with the query layer (vpcflow.query reads it as is).

    LAKE/vpc_flow_logs/aws_account_id=<12 digits|unknown>/aws_region=<region|unknown>/
         year=YYYY/month=MM/day=DD[/hour=HH]/part-<id>.parquet
    LAKE/tgw_flow_logs/...                  the same partitioning, for Transit Gateway flow logs
    LAKE/_vpcflow/                          manifest, lock, journal, temp files (readers skip `_*`, `.*`)

Files hold every column of `vpc_schema()` (or `tgw_schema()`) in that order, absent fields null,
and not the partition columns (Hive style). Whether a lake has hour folders is fixed when it is
created (`_vpcflow/lake.json`), so one lake never mixes the two depths.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from vpcflow.errors import LakeError
from vpcflow.records.catalog import tgw_schema, vpc_schema

TABLES = {"vpc": "vpc_flow_logs", "tgw": "tgw_flow_logs"}
LAYOUT_VERSION = 1
UNKNOWN = "unknown"
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2,4}(?:-[a-z0-9]+)+-\d+$")


def table_schema(family: str) -> pa.Schema:
    return tgw_schema() if family == "tgw" else vpc_schema()


def clean_account(value: str | None) -> str:
    """An account partition value: 12 digits, else `unknown` (never a path-breaking string)."""
    return value if value and _ACCOUNT.match(value) else UNKNOWN


def clean_region(value: str | None) -> str:
    return value if value and _REGION.match(value) else UNKNOWN


@dataclass(frozen=True, order=True)
class Partition:
    """One leaf folder of the lake; values are the strings that appear in the path."""

    family: str  # "vpc" | "tgw"
    account: str
    region: str
    year: str
    month: str
    day: str
    hour: str | None = None

    @classmethod
    def from_path(cls, path: str) -> Partition:
        """The partition of a folder path written by `path` (relative to the lake)."""
        table, *pairs = path.strip("/").split("/")
        family = {v: k for k, v in TABLES.items()}[table]
        values = dict(pair.split("=", 1) for pair in pairs)
        return cls(
            family,
            values["aws_account_id"],
            values["aws_region"],
            values["year"],
            values["month"],
            values["day"],
            values.get("hour"),
        )

    @property
    def path(self) -> str:
        parts = [
            TABLES[self.family],
            f"aws_account_id={self.account}",
            f"aws_region={self.region}",
            f"year={self.year}",
            f"month={self.month}",
            f"day={self.day}",
        ]
        if self.hour is not None:
            parts.append(f"hour={self.hour}")
        return "/".join(parts)


class Lake:
    """Paths inside a lake folder, and its fixed settings."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.meta = self.root / "_vpcflow"
        self.tmp = self.meta / "tmp"
        self.journal = self.meta / "journal"
        self.manifest_path = self.meta / "manifest.jsonl"
        self.lock_path = self.meta / "lock"
        self.settings_path = self.meta / "lake.json"

    def prepare(self, *, hourly: bool) -> None:
        """Create the lake's folders; a new lake records its partition depth, an old one must match."""
        if self.root.exists() and not self.root.is_dir():
            raise LakeError(f"{self.root}: is a file, not a lake folder; give a folder for --lake")
        for folder in (self.meta, self.tmp, self.journal):
            folder.mkdir(parents=True, exist_ok=True)

    def check_settings(self, *, hourly: bool) -> None:
        """Called under the lock: record the depth of a new lake, refuse a mismatch on an old one."""
        settings = self.settings()
        if settings is None:
            write_atomically(
                self.settings_path, json.dumps({"layout": LAYOUT_VERSION, "hourly": hourly}).encode()
            )
            return
        if settings.get("hourly", False) != hourly:
            have = "hourly" if settings.get("hourly") else "daily"
            fix = "add --hourly" if settings.get("hourly") else "drop --hourly"
            raise LakeError(f"{self.root}: this lake has {have} partitions; {fix}, or ingest into a new lake")

    def settings(self) -> dict | None:
        try:
            return json.loads(self.settings_path.read_text())
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise LakeError(
                f"{self.settings_path}: damaged ({exc}); delete it to let ingest write it again"
            ) from None

    def data_files(self) -> list[Path]:
        """Every published Parquet file (the lake's content as a reader sees it)."""
        found = []
        for table in TABLES.values():
            found += sorted((self.root / table).rglob("*.parquet"))
        return [
            p
            for p in found
            if not any(part.startswith(("_", ".")) for part in p.relative_to(self.root).parts)
        ]


def write_atomically(path: Path, data: bytes, *, before_rename: Callable[[], None] | None = None) -> None:
    """Write a small file so that it is either absent or complete, whatever the moment of a crash.
    A crash before the rename leaves `.{name}.tmp-{pid}` beside it, which recovery deletes.
    `before_rename` is a test seam (a crash point between the two steps)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    if before_rename is not None:
        before_rename()
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make renames in a folder durable (no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
