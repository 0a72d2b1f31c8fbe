"""What happens to bad records: the policy (`--on-error fail|skip|quarantine`), counts, quarantine.

A bad record never costs a good one: the readers separate bad lines from good ones block by block,
so the policy only decides whether reading stops (fail), drops the line (skip), or keeps it aside,
byte for byte, with its origin (quarantine).
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from vpcflow.errors import InputError, RecordError


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

    @classmethod
    def whole_file(cls, source: str, exc: InputError) -> BadRecord:
        """A whole input that cannot be read (missing, empty, binary, no or unknown header), as a
        bad record: the line and field its error names, the reason without them."""
        where = (exc.source or "<input>") + (f":{exc.line}" if exc.line is not None else "")
        reason = str(exc).removeprefix(f"{where}: ")
        reason = reason.removeprefix(f"field {exc.field!r}: ") if exc.field else reason
        return cls(source, exc.line, exc.field, reason, b"")

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
    """Keeps bad input aside, untouched, with its origin. For each input, `<dir>/<name>.<id>.bad`
    holds its bad lines (or, for a file that could not be read at all, the file's bytes) and
    `<name>.<id>.bad.jsonl` one origin record per entry (full input path, line, field, error).

    `<id>` is 8 hex digits of a SHA-1 of the input's full path: inputs named alike in different
    folders never share a file, and one input always lands in the same one. A run starts each
    input's files afresh, so a re-run replaces an earlier run's rather than appending to them.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._files: dict[str, tuple] = {}
        self.written: list[Path] = []  # the .bad files this run wrote, in the order it wrote them

    def put(self, bad: BadRecord) -> None:
        raw, index = self._open(bad.source)
        raw.write(bad.text.rstrip(b"\n") + b"\n")
        index.write(json.dumps(self._origin(bad)) + "\n")

    def put_file(self, bad: BadRecord) -> None:
        """A whole input rejected (empty, binary, no or unknown header): its bytes, copied as they
        are (a missing file has none), and one origin record."""
        raw, index = self._open(bad.source)
        if os.path.isfile(bad.source):
            with open(bad.source, "rb") as rejected:
                shutil.copyfileobj(rejected, raw)
        index.write(json.dumps({**self._origin(bad), "whole_file": True}) + "\n")

    def paths(self, source: str) -> tuple[Path, Path]:
        """The (.bad, .bad.jsonl) files that hold this input's bad lines and their origins."""
        digest = hashlib.sha1(full_path(source).encode()).hexdigest()[:8]
        stem = f"{Path(source).name or 'input'}.{digest}.bad"
        return self.directory / stem, self.directory / f"{stem}.jsonl"

    def start(self, source: str) -> None:
        """About to read `source`: an earlier run's files for it go, so that what stays in the
        quarantine is what this run found (a clean re-read leaves none)."""
        if full_path(source) not in self._files:
            for path in self.paths(source):
                path.unlink(missing_ok=True)

    def _origin(self, bad: BadRecord) -> dict:
        return {"source": full_path(bad.source), "line": bad.line, "field": bad.field, "error": bad.reason, "whole_file": False}

    def _open(self, source: str):
        key = full_path(source)  # `x.log` and `./x.log` are one input, with one pair of files
        if key not in self._files:
            self.directory.mkdir(parents=True, exist_ok=True)
            raw_path, index_path = self.paths(source)
            # "w": a run's first entry for an input replaces what an earlier run left
            raw = open(raw_path, "wb")  # noqa: SIM115 - closed in close()
            index = open(index_path, "w")  # noqa: SIM115
            self._files[key] = (raw, index)
            self.written.append(raw_path)
        return self._files[key]

    def close(self) -> None:
        for raw, index in self._files.values():
            raw.close()
            index.close()
        self._files.clear()


def full_path(source: str) -> str:
    """A local input's absolute path; anything else (an s3:// URL, `<stream>`) as it is named."""
    if _NOT_LOCAL.match(source):
        return source
    return os.path.abspath(source)


_NOT_LOCAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|<)", re.I)


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
