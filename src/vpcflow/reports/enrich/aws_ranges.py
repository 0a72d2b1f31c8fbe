"""AWS service and region of an address, from AWS's published ip-ranges.json.

The file (https://ip-ranges.amazonaws.com/ip-ranges.json, documented in the AWS General Reference,
"AWS IP address ranges") lists prefixes with `service` and `region`; one address can sit in several
(every range is also in `AMAZON`, and an `EC2` /16 can sit inside an `AMAZON` /14). Flow logs'
`pkt-*-aws-service` fields show "one of" the overlapping services (flowlogs.md §1.3) without saying
which; we choose, the same way every time: a named service over `AMAZON`, then the longest prefix,
then the service name alphabetically.

Where the file comes from, first that applies: `--ip-ranges FILE`; the copy downloaded earlier into
the cache folder (refreshed when older than a day and the network answers); a download now. Tests
and the demo use the small real sample this package ships (`sample_path()`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
import urllib.request
from importlib import resources
from pathlib import Path

import pyarrow as pa

from vpcflow.errors import InputError
from vpcflow.reports.enrich.owners import cache_dir

URL = "https://ip-ranges.amazonaws.com/ip-ranges.json"
REFRESH_SECONDS = 86_400
_LOW = (1 << 64) - 1

RANGE_SCHEMA = pa.schema(
    [
        ("family", pa.uint8()),
        ("lo_hi", pa.uint64()),
        ("lo_lo", pa.uint64()),
        ("hi_hi", pa.uint64()),
        ("hi_lo", pa.uint64()),
        ("prefix", pa.string()),
        ("prefix_len", pa.uint8()),
        ("service", pa.string()),
        ("region", pa.string()),
        ("network_border_group", pa.string()),
    ]
)


def sample_path() -> Path:
    """The shipped sample: real S3, DynamoDB, EC2 and API Gateway prefixes in a few regions."""
    return Path(str(resources.files("vpcflow.reports") / "data" / "ip-ranges-sample.json"))


def locate(path: str | os.PathLike | None, *, offline: bool = False) -> Path:
    """The ip-ranges.json to use (see the module docstring for the order)."""
    if path is not None:
        return Path(path)
    cached = cache_dir() / "ip-ranges.json"
    fresh = cached.exists() and time.time() - cached.stat().st_mtime < REFRESH_SECONDS
    if fresh or offline:
        if cached.exists():
            return cached
    else:
        try:
            _download(cached)
            return cached
        except OSError as exc:
            if cached.exists():
                return cached  # stale beats nothing; AWS changes a few prefixes a week
            reason = exc
    raise InputError(
        f"no AWS ip-ranges.json ({'offline' if offline else f'download failed: {reason}'}); "
        f"download {URL} and give it with --ip-ranges FILE",
        source=str(cached),
    )


def _download(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(URL, timeout=15) as response:  # noqa: S310 - fixed https URL
        data = response.read()
    json.loads(data)  # never cache a truncated or HTML answer
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def load(path: str | os.PathLike) -> tuple[pa.Table, str]:
    """The prefixes of an ip-ranges.json as a range table, and its createDate."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(
            "no such file; give AWS's ip-ranges.json with --ip-ranges FILE", source=str(path)
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"not AWS's ip-ranges.json: {exc}", source=str(path)) from None
    if not isinstance(document, dict) or "prefixes" not in document:
        raise InputError("not AWS's ip-ranges.json: no 'prefixes' list", source=str(path))
    rows: dict[str, list] = {name: [] for name in RANGE_SCHEMA.names}
    for key, entries in (
        ("ip_prefix", document.get("prefixes", [])),
        ("ipv6_prefix", document.get("ipv6_prefixes", [])),
    ):
        for index, entry in enumerate(entries):
            try:
                network = ipaddress.ip_network(entry[key], strict=False)
                service, region = entry["service"], entry["region"]
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"entry {index} of '{key}' lists: {exc!r}", source=str(path)) from None
            first, last = int(network.network_address), int(network.broadcast_address)
            rows["family"].append(network.version)
            rows["lo_hi"].append(first >> 64)
            rows["lo_lo"].append(first & _LOW)
            rows["hi_hi"].append(last >> 64)
            rows["hi_lo"].append(last & _LOW)
            rows["prefix"].append(str(network))
            rows["prefix_len"].append(network.prefixlen)
            rows["service"].append(service)
            rows["region"].append(region)
            rows["network_border_group"].append(entry.get("network_border_group"))
    return pa.table(rows, schema=RANGE_SCHEMA), str(document.get("createDate", "unknown"))
