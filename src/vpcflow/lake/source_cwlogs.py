"""Flow logs in a CloudWatch Logs group: `vpcflow ingest cwlogs://log-group[/stream-prefix] --lake DIR`.

    source = CloudWatchLogsSource("cwlogs:///aws/vpc/flow-logs/eni-0abc", AwsSettings(region="eu-west-1"),
                                  since=..., until=...)

AWS delivers a flow log to CloudWatch Logs as one event per record, without a header, one log stream
per network interface (flowlogs.md §5.1). The source reads them with FilterLogEvents (boto3's
paginator; throttling is retried with back-off by botocore, see aws_session.py), one whole UTC hour
at a time, and turns each (log stream, hour) into one object for the lake:

    key   cwlogs://<group>/<stream>@2026-11-20T10Z
    bytes a header line (the flow log's format, plus `region` when the format lacks it), then the
          events' messages in (timestamp, event id) order
    etag  the SHA-1 of those bytes

so the lake's manifest ingests incrementally by content. The bytes are spooled to a temporary folder
while listing (the lake plans all objects before reading), and read back from there.

Choices where AWS is silent:
- Whole hours. An hour is read only once it is over and has settled: AWS publishes a record some
  minutes after its aggregation interval (up to 10 minutes) ends, so hours ending less than
  `SETTLE_SECONDS` (20 minutes) ago are left for a later run, with a warning. `--since` and
  `--until` select the hours that overlap [since, until).
- The format: `--log-format` when given; else the flow logs that deliver to the group, from EC2
  DescribeFlowLogs (filter `log-group-name`), when they agree on one format; else the default format.
- The region column: the group's Region (the client's), added when the format lacks `region`, so the
  lake partitions the records by their real Region rather than `unknown`.
- A group name may hold '/': `cwlogs://NAME` is the group NAME if it exists, else the last part of
  NAME is a log stream name prefix (`cwlogs:///aws/vpc/flows/eni-0abc`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from vpcflow.aws_session import AwsSettings, aws_errors, describe_error, error_code
from vpcflow.errors import InputError
from vpcflow.lake.sources import SourceObject
from vpcflow.records.formats import LogFormat, resolve_format

log = logging.getLogger("vpcflow.aws")

HOUR = 3600
SETTLE_SECONDS = 20 * 60


def parse_cwlogs_url(url: str) -> str:
    """The part after `cwlogs://`: a log group name, maybe followed by `/stream-prefix`."""
    if not url.startswith("cwlogs://") or not url[len("cwlogs://") :].strip("/"):
        raise InputError("write cwlogs://LOG-GROUP or cwlogs://LOG-GROUP/STREAM-PREFIX", source=url)
    return url[len("cwlogs://") :]


class CloudWatchLogsSource:
    """A log group's flow log events in whole UTC hours (a `vpcflow.lake.Source`)."""

    def __init__(
        self,
        url: str,
        settings: AwsSettings | None = None,
        *,
        since: int | None = None,
        until: int | None = None,
        log_format: str | LogFormat | None = None,
        now: float | None = None,
        page_size: int | None = None,
        logs_client=None,
        ec2_client=None,
    ):
        self.name = url
        self.settings = settings or AwsSettings()
        self.logs = logs_client or self.settings.client("logs")
        self._ec2 = ec2_client
        self.since, self.until = since, until
        self.now = time.time() if now is None else now
        self.page_size = page_size  # events per FilterLogEvents call; None: AWS's maximum (10,000)
        self.warnings: list[str] = []
        self.group, self.stream_prefix = self._resolve(parse_cwlogs_url(url))
        self.format = self._format(log_format)
        self.region = self.settings.region_name or self.logs.meta.region_name
        self._spool = tempfile.TemporaryDirectory(prefix="vpcflow-cwlogs-")
        self._paths: dict[str, str] = {}  # key -> its spooled bytes

    # -- the group, the format -----------------------------------------------------------------

    def _group_exists(self, name: str) -> bool:
        try:
            pages = self.logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name)
            return any(g["logGroupName"] == name for page in pages for g in page.get("logGroups", ()))
        except aws_errors() as exc:
            if error_code(exc) == "InvalidParameterException":
                return False  # not a valid group name (e.g. a trailing stream prefix with odd characters)
            raise InputError(
                f"cannot describe log groups: {self.settings.redact(describe_error(exc))}", source=self.name
            ) from None

    def _resolve(self, text: str) -> tuple[str, str | None]:
        if self._group_exists(text):
            return text, None
        group, _, prefix = text.rpartition("/")
        if group and prefix and self._group_exists(group):
            return group, prefix
        raise InputError(
            f"no log group named {text!r}"
            + (f" or {group!r}" if group else "")
            + f" in {self.settings.region_name or 'the default Region'}; `aws logs describe-log-groups` lists them",
            source=self.name,
        )

    def _format(self, log_format: str | LogFormat | None) -> LogFormat:
        if log_format:
            return resolve_format(log_format)
        found = self.flow_log_formats()
        if len(found) == 1:
            return resolve_format(next(iter(found)))
        if len(found) > 1:
            message = (
                f"{self.name}: the flow logs delivering to {self.group} have {len(found)} formats; "
                "reading with the default format (pass --log-format to choose)"
            )
            self.warnings.append(message)
            log.warning("warning: %s", message)
        return LogFormat.default()

    def flow_log_formats(self) -> set[str]:
        """The formats of the flow logs that deliver to the group (EC2 DescribeFlowLogs); empty
        when there are none or the caller may not describe them."""
        try:
            ec2 = self._ec2 or self.settings.client("ec2")
            pages = ec2.get_paginator("describe_flow_logs").paginate(
                Filters=[{"Name": "log-group-name", "Values": [self.group]}]
            )
            return {
                fl["LogFormat"] for page in pages for fl in page.get("FlowLogs", ()) if fl.get("LogFormat")
            }
        except (*aws_errors(), InputError) as exc:
            message = f"{self.name}: cannot look up the flow log's format ({describe_error(exc)}); using --log-format or the default"
            self.warnings.append(self.settings.redact(message))
            log.warning("warning: %s", self.settings.redact(message))
            return set()

    # -- listing -------------------------------------------------------------------------------

    def hours(self) -> list[int]:
        """The settled UTC hours (their start, in seconds) that overlap [since, until)."""
        settled_end = int(self.now) - SETTLE_SECONDS
        until = settled_end if self.until is None else self.until
        start = self._first_event_time() if self.since is None else self.since
        if start is None:
            return []
        first = start - start % HOUR
        hours = list(range(first, until, HOUR))
        settled = [h for h in hours if h + HOUR <= settled_end]
        if len(settled) < len(hours):
            message = (
                f"{self.name}: {len(hours) - len(settled)} hour(s) from "
                f"{_iso(hours[len(settled)])} are not over or not settled yet; run again later for them"
            )
            self.warnings.append(message)
            log.warning("warning: %s", message)
        return settled

    def _first_event_time(self) -> int | None:
        """Without --since: the oldest event's time. FilterLogEvents returns events in time order,
        but a page may be empty with a nextToken (AWS searches a slice of the group per call), so
        pages are followed until the first event."""
        request = {"logGroupName": self.group, "limit": 1}
        if self.stream_prefix:
            request["logStreamNamePrefix"] = self.stream_prefix
        try:
            while True:
                page = self.logs.filter_log_events(**request)
                events = [e for e in page.get("events", ()) if self._wanted_stream(e)]
                if events or not page.get("nextToken"):
                    return min((e["timestamp"] // 1000 for e in events), default=None)
                request["nextToken"] = page["nextToken"]
        except aws_errors() as exc:
            raise self._error(exc) from None

    def _wanted_stream(self, event: dict) -> bool:
        # AWS filters by logStreamNamePrefix itself; checked again because not every
        # CloudWatch Logs-compatible server does (moto ignores the parameter).
        return not self.stream_prefix or event.get("logStreamName", "").startswith(self.stream_prefix)

    def objects(self) -> Iterator[SourceObject]:
        header = self._header()
        for hour in self.hours():
            by_stream: dict[str, dict[str, tuple[int, str]]] = {}
            for event in self._events(hour):
                stream = by_stream.setdefault(event["logStreamName"], {})
                stream[event.get("eventId") or f"{event['timestamp']}:{len(stream)}"] = (
                    event["timestamp"],
                    event.get("message", ""),
                )
            for stream in sorted(by_stream):
                events = sorted(by_stream[stream].items(), key=lambda item: (item[1][0], item[0]))
                yield self._spooled(stream, hour, header, [msg for _, (_, msg) in events])

    def _header(self) -> tuple[str, str]:
        tokens = self.format.header
        suffix = "" if "region" in tokens.split() else " " + (self.region or "-")
        return tokens + (" region" if suffix else ""), suffix

    def _events(self, hour: int) -> Iterator[dict]:
        request = {"logGroupName": self.group, "startTime": hour * 1000, "endTime": (hour + HOUR) * 1000 - 1}
        if self.stream_prefix:
            request["logStreamNamePrefix"] = self.stream_prefix
        paging = {"PageSize": self.page_size} if self.page_size else {}
        try:
            for page in self.logs.get_paginator("filter_log_events").paginate(
                **request, PaginationConfig=paging
            ):
                yield from (e for e in page.get("events", ()) if self._wanted_stream(e))
        except aws_errors() as exc:
            raise self._error(exc) from None

    def _error(self, exc) -> InputError:
        hint = ""
        if error_code(exc) in ("AccessDeniedException", "AccessDenied"):
            hint = "; the credentials need logs:FilterLogEvents and logs:DescribeLogGroups"
        return InputError(
            f"cannot read events: {self.settings.redact(describe_error(exc))}{hint}", source=self.name
        )

    def _spooled(self, stream: str, hour: int, header: tuple[str, str], messages: list[str]) -> SourceObject:
        tokens, suffix = header
        lines = [tokens] + [m.replace("\n", " ").rstrip() + suffix for m in messages]
        data = ("\n".join(lines) + "\n").encode()
        etag = hashlib.sha1(data).hexdigest()
        path = os.path.join(self._spool.name, etag)
        with open(path, "wb") as out:
            out.write(data)
        key = f"cwlogs://{self.group}/{stream}@{_iso(hour)}"
        self._paths[key] = path
        return SourceObject(key, len(data), etag=etag)

    # -- reading -------------------------------------------------------------------------------

    def local_path(self, obj: SourceObject) -> str | None:
        return None  # the spooled file is ours; messages name the object by its cwlogs:// key

    def open(self, obj: SourceObject) -> BinaryIO:
        path = self._paths.get(obj.key)
        if path is None:
            raise InputError("not listed by this source", source=obj.key)
        raw = io.FileIO(path, "r")
        raw.name = obj.key
        return io.BufferedReader(raw, 1 << 20)

    def close(self) -> None:
        self._spool.cleanup()


def _iso(hour: int) -> str:
    return datetime.fromtimestamp(hour, UTC).strftime("%Y-%m-%dT%HZ")
