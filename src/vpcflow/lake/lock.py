"""One writer at a time: an exclusive lock on `LAKE/_vpcflow/lock`.

The operating system drops the lock when its process ends, however it ends (a `kill -9` included),
so a crashed ingest never leaves a lake locked. The lock file holds the holder's pid, host and start
time, for the message the next ingest prints.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

from vpcflow.errors import LakeError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


class LakeLock:
    def __init__(self, path: Path, *, wait: float = 0.0, poll: float = 0.2):
        self.path = path
        self.wait = wait
        self.poll = poll
        self._fd: int | None = None

    def __enter__(self) -> LakeLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        if fcntl is None:  # pragma: no cover
            raise LakeError("ingest needs POSIX file locks (Linux or macOS)")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _describe(fd)
                    os.close(fd)
                    waited = f" (waited {self.wait:g} s)" if self.wait else ""
                    raise LakeError(
                        f"{self.path.parent.parent}: another ingest is writing this lake{waited}: {holder}; "
                        "wait for it to finish, or pass --wait SECONDS to queue behind it"
                    ) from None
                time.sleep(self.poll)
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _describe(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        holder = {}
    if not holder:
        return "held by another process"
    return f"process {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')}"
