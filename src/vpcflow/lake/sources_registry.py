"""Which `Source` a command-line argument names: a local path, `s3://bucket/prefix`, `cwlogs://group`.

    sources = sources_for(["logs/", "s3://b/AWSLogs/", "cwlogs:///aws/vpc/fl"], lake, RemoteOptions(...))
    try: ingest(sources, lake) ...
    finally: close_sources(sources)

The S3 and CloudWatch Logs sources import boto3 only when an argument names them, so local ingests
never need it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from vpcflow.aws_session import AwsSettings
from vpcflow.errors import InputError
from vpcflow.lake.sources import Source, local_sources

_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass
class RemoteOptions:
    """The options that only remote sources use."""

    aws: AwsSettings = field(default_factory=AwsSettings)
    since: int | None = None  # UTC seconds
    until: int | None = None
    log_format: str | None = None
    s3_workers: int = 8


def parse_time(text: str | None, *, now: float | None = None, option: str = "--since") -> int | None:
    """UTC seconds from an ISO 8601 date or time (UTC when it has no offset) or an age (`90m`, `2h`, `7d`)."""
    if text is None or text == "":
        return None
    now = time.time() if now is None else now
    relative = _RELATIVE.match(text.strip())
    if relative:
        return int(now) - int(relative[1]) * _UNIT[relative[2]]
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{text!r} is not a time: write 2026-11-20, 2026-11-20T10:00Z, or an age such as 90m, 2h, 7d",
            source=option,
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def is_remote(arg: str) -> bool:
    return arg.startswith(("s3://", "cwlogs://"))


def sources_for(args: list[str], lake_root, options: RemoteOptions | None = None) -> list[Source]:
    """One source per argument, in order."""
    options = options or RemoteOptions()
    if options.since is not None and options.until is not None and options.since >= options.until:
        raise InputError("--since must be before --until", source="--since")
    sources: list[Source] = []
    try:
        for arg in args:
            arg = str(arg)
            if arg.startswith("s3://"):
                from vpcflow.lake.source_s3 import S3Source

                sources.append(
                    S3Source(arg, options.aws, workers=options.s3_workers, window=(options.since, options.until))
                )
            elif arg.startswith("cwlogs://"):
                from vpcflow.lake.source_cwlogs import CloudWatchLogsSource

                sources.append(
                    CloudWatchLogsSource(
                        arg, options.aws, since=options.since, until=options.until, log_format=options.log_format
                    )
                )
            else:
                sources += local_sources([arg], lake_root)
    except BaseException:
        close_sources(sources)
        raise
    return sources


def close_sources(sources: list[Source]) -> None:
    """Stop downloads and remove temporary files of the sources that hold any."""
    for source in sources:
        close = getattr(source, "close", None)
        if close is not None:
            close()
