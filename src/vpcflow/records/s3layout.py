"""AWS's S3 object layout for flow logs: build and parse keys, find flow log objects in a folder.

    [prefix/]AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{mm}/{dd}/[{HH}/]
        {account}_vpcflowlogs_{region}_{flow-log-id}_{yyyymmddTHHmmZ}_{hash}.log.gz
    [prefix/]AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/
        year={yyyy}/month={mm}/day={dd}/[hour={HH}/]{same file name}

(flowlogs.md §4.1). The timestamp is the 5-minute window of the records' end times. A key may carry
the bucket in front, as AWS's ARN example does (`arn:aws:s3:::my-flow-log-bucket/AWSLogs/...`) or as
an `s3://bucket/...` URL: everything before `AWSLogs/` is the prefix, kept as written.

Choices where AWS is silent:
- Parquet objects end `.log.parquet`: an inference from third-party code that globs them; AWS's
  file name text only shows `.log.gz`.
- The 8-hex hash: AWS does not say what it hashes. We take the first 8 hex digits of a SHA-1 of the
  key's parts and a sequence number, so the files of one window (AWS starts a new one when a file
  reaches 75 MB) get distinct names, and the same inputs always give the same key.
- Transit Gateway flow logs: the TGW guide's S3 page describes the same files ("VPC Flow Logs ...
  publishes the log files ... at 5-minute intervals") and public TGW Athena tables partition on the
  same Hive keys, but no AWS TGW key example was found; we use the `vpcflowlogs` layout for them.
- An older revision of the VPC guide printed the Hive segment as `service=vpcflowlogs`; the current
  one says `aws-service=vpcflowlogs`, which is what we build and parse.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

SERVICE = "vpcflowlogs"
EXTENSIONS = {"text": ".log.gz", "parquet": ".log.parquet"}

_NAME = re.compile(
    r"^(?P<account>\d{12}|[^_/]+)_vpcflowlogs_(?P<region>[a-z0-9-]+)_(?P<flow_log_id>fl-[0-9a-f]+)_"
    r"(?P<stamp>\d{8}T\d{4}Z)_(?P<hash>[0-9a-f]{8})(?P<ext>\.log\.gz|\.log\.parquet)$"
)
_PLAIN = re.compile(
    r"^(?:(?P<prefix>.*?)/)?AWSLogs/(?P<account>[^/]+)/vpcflowlogs/(?P<region>[^/]+)/"
    r"(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/(?:(?P<hour>\d{2})/)?(?P<name>[^/]+)$"
)
_HIVE = re.compile(
    r"^(?:(?P<prefix>.*?)/)?AWSLogs/aws-account-id=(?P<account>[^/]+)/aws-service=vpcflowlogs/"
    r"aws-region=(?P<region>[^/]+)/year=(?P<year>\d{4})/month=(?P<month>\d{2})/day=(?P<day>\d{2})/"
    r"(?:hour=(?P<hour>\d{2})/)?(?P<name>[^/]+)$"
)


@dataclass(frozen=True)
class S3Key:
    """One flow log object's key, in parts."""

    account: str
    region: str
    flow_log_id: str
    window: datetime  # UTC start of the 5-minute window of the records' end times
    hash: str = ""
    prefix: str = ""
    hive: bool = False
    hourly: bool = False
    file_format: str = "text"  # "text" (.log.gz) or "parquet" (.log.parquet)

    @property
    def year(self) -> str:
        return f"{self.window.year:04d}"

    @property
    def month(self) -> str:
        return f"{self.window.month:02d}"

    @property
    def day(self) -> str:
        return f"{self.window.day:02d}"

    @property
    def hour(self) -> str | None:
        return f"{self.window.hour:02d}" if self.hourly else None

    @property
    def folder(self) -> str:
        """The key's folder, ending with '/'."""
        if self.hive:
            parts = [
                "AWSLogs", f"aws-account-id={self.account}", f"aws-service={SERVICE}", f"aws-region={self.region}",
                f"year={self.year}", f"month={self.month}", f"day={self.day}",
            ]  # fmt: skip
            if self.hourly:
                parts.append(f"hour={self.hour}")
        else:
            parts = ["AWSLogs", self.account, SERVICE, self.region, self.year, self.month, self.day]
            if self.hourly:
                parts.append(self.hour)
        prefix = self.prefix.strip("/")
        return "/".join(([prefix] if prefix else []) + parts) + "/"

    @property
    def name(self) -> str:
        stamp = self.window.strftime("%Y%m%dT%H%MZ")
        return f"{self.account}_{SERVICE}_{self.region}_{self.flow_log_id}_{stamp}_{self.hash}{EXTENSIONS[self.file_format]}"

    @property
    def key(self) -> str:
        return self.folder + self.name

    def __str__(self) -> str:
        return self.key


def window_for(end_epoch: int) -> datetime:
    """The 5-minute window (UTC) whose file holds a record with this `end` time."""
    return datetime.fromtimestamp(end_epoch - end_epoch % 300, UTC)


def build_key(
    account: str,
    region: str,
    flow_log_id: str,
    window: datetime | int,
    *,
    prefix: str = "",
    hive: bool = False,
    hourly: bool = False,
    file_format: str = "text",
    sequence: int = 0,
) -> S3Key:
    """The key AWS would give the `sequence`-th file of a window (0 for the first; more on rotation)."""
    if isinstance(window, int):
        window = window_for(window)
    window = window.astimezone(UTC).replace(minute=window.minute - window.minute % 5, second=0, microsecond=0)
    if file_format not in EXTENSIONS:
        raise ValueError(f"file_format must be text or parquet, not {file_format!r}")
    seed = f"{account}/{region}/{flow_log_id}/{window:%Y%m%dT%H%M}/{sequence}/{file_format}"
    digest = hashlib.sha1(seed.encode()).hexdigest()[:8]
    return S3Key(account, region, flow_log_id, window, digest, prefix.strip("/"), hive, hourly, file_format)


def explain_key(key: str) -> str | None:
    """Why a key is not a flow log object (None when it is one)."""
    key = key.replace(os.sep, "/")
    match = _HIVE.match(key) or _PLAIN.match(key)
    if match is None:
        if "AWSLogs/" not in key:
            return "no AWSLogs/ folder in the key"
        return "the folders after AWSLogs/ are not {account}/vpcflowlogs/{region}/yyyy/mm/dd[/HH]/ (or their Hive form)"
    name = _NAME.match(match["name"])
    if name is None:
        return (
            f"file name {match['name']!r} is not "
            "{account}_vpcflowlogs_{region}_{flow-log-id}_{yyyymmddTHHmmZ}_{hash}.log.gz (or .log.parquet)"
        )
    if (name["account"], name["region"]) != (match["account"], match["region"]):
        return "the file name's account or region differs from its folders'"
    stamp = datetime.strptime(name["stamp"], "%Y%m%dT%H%MZ")
    if (f"{stamp.year:04d}", f"{stamp.month:02d}", f"{stamp.day:02d}") != (
        match["year"],
        match["month"],
        match["day"],
    ):
        return "the file name's date differs from its folders'"
    if match["hour"] is not None and f"{stamp.hour:02d}" != match["hour"]:
        return "the file name's hour differs from its hour folder"
    if stamp.minute % 5:
        return "the file name's time is not on a 5-minute boundary"
    return None


def parse_key(key: str) -> S3Key | None:
    """The parts of a flow log object's key; None for any other key (see explain_key for why)."""
    key = key.replace(os.sep, "/")
    if explain_key(key) is not None:
        return None
    hive = _HIVE.match(key)
    match = hive or _PLAIN.match(key)
    name = _NAME.match(match["name"])
    window = datetime.strptime(name["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    return S3Key(
        account=match["account"],
        region=match["region"],
        flow_log_id=name["flow_log_id"],
        window=window,
        hash=name["hash"],
        prefix=match["prefix"] or "",
        hive=hive is not None,
        hourly=match["hour"] is not None,
        file_format="parquet" if name["ext"] == ".log.parquet" else "text",
    )


def find_flow_log_objects(folder: str | os.PathLike) -> list[tuple[Path, S3Key]]:
    """Every flow log object under a local folder (a bucket root or any prefix in it), sorted by key.

    A file given instead of a folder is returned when its path is a flow log key.
    """
    root = Path(folder)
    candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    found = []
    base = root.resolve() if root.is_dir() else None
    for path in candidates:
        full = path.resolve().as_posix()
        start = full.rfind("/AWSLogs/")
        key = parse_key(full[start + 1 :]) if start >= 0 else None
        if key is None:
            continue
        awslogs = Path(full[:start])
        if base is not None and awslogs.is_relative_to(base) and awslogs != base:
            key = replace(key, prefix=awslogs.relative_to(base).as_posix())  # the bucket's own prefix
        found.append((path, key))
    return sorted(found, key=lambda item: (item[1].window, item[1].key))


def with_sequence(key: S3Key, sequence: int) -> S3Key:
    """The same window's next file, as AWS writes one when a file reaches its size limit."""
    rebuilt = build_key(
        key.account, key.region, key.flow_log_id, key.window,
        prefix=key.prefix, hive=key.hive, hourly=key.hourly, file_format=key.file_format, sequence=sequence,
    )  # fmt: skip
    return replace(key, hash=rebuilt.hash)


# What a flow log file is called, for a folder's contents (a file named on its own is always read):
# AWS's S3 objects (.log.gz, .log.parquet), plain text copies of them (.log), CloudWatch Logs exports
# (an export task writes .gz objects; a saved export is often .txt), and Parquet under any name.
FLOW_LOG_SUFFIXES = (".log", ".gz", ".parquet", ".txt")


def find_flow_log_files(folder: str | os.PathLike) -> list[Path]:
    """Every flow log file under a local folder, by name (FLOW_LOG_SUFFIXES), sorted by path.

    Unlike find_flow_log_objects this does not ask for AWS's key layout: a folder of exports or
    copies is read too. Hidden files and folders (ours: a conversion's temporary file) are left out,
    and so are the notes and other files that sit beside flow logs (README.md).
    """
    found = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        names = [n for n in files if not n.startswith(".") and n.endswith(FLOW_LOG_SUFFIXES)]
        found += [Path(here, n) for n in names]
    return sorted(found)
