"""What an object's S3 key says about its records: account, region and date (flowlogs.md §4.1).

One function, `key_info`, so the rest of the lake never parses keys itself. It uses the record
layer's `vpcflow.records.s3layout.parse_key` when that module is present, and otherwise (or when
that parser does not recognise the key) the patterns below, which cover AWS's four prefix layouts
(plain or Hive-compatible, daily or hourly) and AWS's file name on its own:

    AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20[/16]/<file>
    AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20[/hour=16]/<file>
    123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_FILE = re.compile(
    r"(?P<account>\d{12})_vpcflowlogs_(?P<region>[a-z0-9-]+)_(?P<flow_log_id>fl-[0-9a-f]+)_"
    r"(?P<stamp>\d{8}T\d{4}Z)_(?P<hash>[0-9a-zA-Z]+)\.log(?:\.gz|\.parquet)?$"
)
_PLAIN = re.compile(
    r"(?:^|/)AWSLogs/(?P<account>\d{12})/vpcflowlogs/(?P<region>[a-z0-9-]+)/"
    r"(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/(?:(?P<hour>\d{2})/)?[^/]+$"
)
_HIVE = re.compile(
    r"(?:^|/)AWSLogs/aws-account-id=(?P<account>\d{12})/aws-service=vpcflowlogs/aws-region=(?P<region>[a-z0-9-]+)/"
    r"year=(?P<year>\d{4})/month=(?P<month>\d{2})/day=(?P<day>\d{2})/(?:hour=(?P<hour>\d{2})/)?[^/]+$"
)


@dataclass(frozen=True)
class KeyInfo:
    """The partition facts an S3 key carries. `stamp` is the file's 5-minute window (UTC seconds)
    when the file name has one, else midnight (or the hour) of the key's date."""

    account: str
    region: str
    stamp: int | None
    aws_name: str | None = (
        None  # AWS's file name, unique per delivered object (account, flow log, window, hash)
    )


def key_info(key: str) -> KeyInfo | None:
    """The account, region and time an S3 key (or a local path in S3 layout) names; None if none."""
    key = key.replace("\\", "/")
    found = _from_s3layout(key)
    if found is not None:
        return found
    name = key.rsplit("/", 1)[-1]
    file_match = _FILE.search(name)
    folder = _HIVE.search(key) or _PLAIN.search(key)
    if folder is None and file_match is None:
        return None
    stamp = None
    if file_match is not None:
        stamp = int(datetime.strptime(file_match["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC).timestamp())
    elif folder is not None:
        stamp = _stamp(folder["year"], folder["month"], folder["day"], folder["hour"])
    source = folder or file_match
    return KeyInfo(source["account"], source["region"], stamp, name if file_match else None)


def _stamp(year, month, day, hour=None) -> int | None:
    try:
        when = datetime(int(year), int(month), int(day), int(hour or 0), tzinfo=UTC)
    except (TypeError, ValueError):
        return None
    return int(when.timestamp())


def _from_s3layout(key: str) -> KeyInfo | None:
    """Adapter over the record layer's key parser, whose shape we only rely on loosely."""
    try:
        from vpcflow.records.s3layout import parse_key
    except ImportError:
        return None
    try:
        parsed = parse_key(key)
    except Exception:  # noqa: BLE001 - a key the other parser rejects falls back to ours
        return None
    if parsed is None:
        return None
    account = getattr(parsed, "account", None) or getattr(parsed, "account_id", None)
    region = getattr(parsed, "region", None)
    if not account or not region:
        return None
    stamp = None
    for name in ("window", "window_start", "timestamp", "stamp"):
        value = getattr(parsed, name, None)
        if isinstance(value, datetime):
            stamp = int(value.replace(tzinfo=value.tzinfo or UTC).timestamp())
            break
        if isinstance(value, int):
            stamp = value
            break
    if stamp is None:
        stamp = _stamp(
            getattr(parsed, "year", None),
            getattr(parsed, "month", None),
            getattr(parsed, "day", None),
            getattr(parsed, "hour", None),
        )
    name = key.rsplit("/", 1)[-1]
    return KeyInfo(str(account), str(region), stamp, name if _FILE.search(name) else None)
