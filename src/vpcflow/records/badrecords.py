"""What happens to bad records: the policy (`--on-error fail|skip|quarantine`), counts, quarantine.

A bad record never costs a good one: the readers separate bad lines from good ones block by block,
so the policy only decides whether reading stops (fail), drops the line (skip), or keeps it aside,
byte for byte, with its origin (quarantine).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from pathlib import Path

from vpcflow.errors import RecordError


class OnError(enum.StrEnum):
    fail = "fail"
    skip = "skip"
    quarantine = "quarantine"


@dataclass
class BadRecord:
    source: str
    line: int | None
    field: str | None
    reason: str
    text: bytes

    def error(self) -> RecordError:
        shown = self.text[:200].decode("utf-8", "backslashreplace")
        return RecordError(self.reason, source=self.source, line=self.line, field=self.field, text=shown)

    def message(self) -> str:
        return str(self.error())


@dataclass
class ReadStats:
    """Counts over one or many inputs; `errors` keeps the first few bad records for messages."""

    good: int = 0
    bad: int = 0
    files: int = 0
    errors: list[BadRecord] = field(default_factory=list)
    keep: int = 20

    def add_bad(self, bad: BadRecord) -> None:
        self.bad += 1
        if len(self.errors) < self.keep:
            self.errors.append(bad)

    def merge(self, other: ReadStats) -> None:
        self.good += other.good
        self.files += other.files
        for bad in other.errors:
            if len(self.errors) < self.keep:
                self.errors.append(bad)
        self.bad += other.bad


class Quarantine:
    """Writes bad lines untouched to `<dir>/<source name>.bad`, and their origin to `.bad.jsonl`."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._files: dict[str, tuple] = {}

    def put(self, bad: BadRecord) -> None:
        raw, index = self._open(bad.source)
        raw.write(bad.text.rstrip(b"\n") + b"\n")
        origin = {"source": bad.source, "line": bad.line, "field": bad.field, "error": bad.reason}
        index.write(json.dumps(origin) + "\n")

    def _open(self, source: str):
        if source not in self._files:
            self.directory.mkdir(parents=True, exist_ok=True)
            stem = Path(source).name or "input"
            raw = open(self.directory / f"{stem}.bad", "ab")  # noqa: SIM115 - closed in close()
            index = open(self.directory / f"{stem}.bad.jsonl", "a")  # noqa: SIM115
            self._files[source] = (raw, index)
        return self._files[source]

    def close(self) -> None:
        for raw, index in self._files.values():
            raw.close()
            index.close()
        self._files.clear()


class BadRecordSink:
    """Applies the policy to each bad record as the reader finds it."""

    def __init__(self, on_error: OnError | str, stats: ReadStats, quarantine: Quarantine | None = None):
        self.on_error = OnError(on_error)
        self.stats = stats
        if self.on_error is OnError.quarantine and quarantine is None:
            quarantine = Quarantine("vpcflow-quarantine")
        self.quarantine = quarantine

    def __call__(self, bad: BadRecord) -> None:
        self.stats.add_bad(bad)
        if self.on_error is OnError.fail:
            raise bad.error()
        if self.on_error is OnError.quarantine:
            self.quarantine.put(bad)
