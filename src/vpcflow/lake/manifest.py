"""The manifest: which source objects are in the lake, one JSON line per committed transaction.

    {"txn": "...", "committed": "2026-11-24T10:15:00Z", "objects": [{"id", "key", "size", "mtime_ns",
     "etag", "records", "bad"}], "files": [{"path", "rows", "bytes"}]}

A line is written with one `write` and fsynced; it is the commit point of its transaction. A line cut
short by a crash has no newline; it is ignored when read and cut off before the next append (its
transaction is still in the journal, so recovery writes it again, whole).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from vpcflow.errors import LakeError


@dataclass
class Manifest:
    path: Path
    objects: dict[str, dict] = field(default_factory=dict)  # identity -> its entry
    txns: set[str] = field(default_factory=set)
    files: list[dict] = field(default_factory=list)
    _good_bytes: int = 0

    @classmethod
    def load(cls, path: Path) -> Manifest:
        manifest = cls(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return manifest
        end = data.rfind(b"\n") + 1  # a crash can leave a last line without its newline: not committed
        for number, line in enumerate(data[:end].splitlines(), 1):
            if not line.strip():
                continue
            try:
                manifest._add(json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:
                raise LakeError(
                    f"{path}:{number}: damaged manifest line ({exc}); restore it from a backup"
                ) from None
        manifest._good_bytes = end
        return manifest

    def _add(self, entry: dict) -> None:
        self.txns.add(entry["txn"])
        for obj in entry["objects"]:
            self.objects[obj["id"]] = obj | {"txn": entry["txn"]}
        self.files += entry.get("files", [])

    def append(self, entry: dict) -> None:
        """Commit a transaction: its line reaches the disk, or (after a crash) is ignored."""
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.ftruncate(fd, self._good_bytes)  # drop a torn line left by a crash
            os.lseek(fd, self._good_bytes, os.SEEK_SET)
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        self._good_bytes += len(line)
        self._add(entry)
