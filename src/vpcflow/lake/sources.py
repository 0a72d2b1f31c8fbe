"""Where flow log objects come from: a seam, so that S3 and CloudWatch Logs sources plug in later.

A `Source` lists `SourceObject`s (identity: key, size, and mtime or etag) and opens one as bytes.
The ingest never looks inside a source beyond that, except for the fast path: a source that can
name a local file (`local_path`) lets the reader inflate it on its own thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from vpcflow.errors import InputError
from vpcflow.lake.keys import KeyInfo, key_info


@dataclass(frozen=True)
class SourceObject:
    """One object to ingest. `key` is what messages show and what the S3 layout is read from."""

    key: str
    size: int
    mtime_ns: int | None = None
    etag: str | None = None

    @property
    def info(self) -> KeyInfo | None:
        return key_info(self.key)

    @property
    def identity(self) -> str:
        """What the manifest knows an object by. AWS's file names are unique per delivered object
        (account, Region, flow log, 5-minute window, hash), so an AWS-named object is the same object
        wherever a copy of the bucket lives; anything else is known by its full key."""
        info = self.info
        if info is not None and info.aws_name is not None:
            return "aws:" + info.aws_name
        return self.key

    @property
    def fingerprint(self) -> dict:
        return {"size": self.size, "mtime_ns": self.mtime_ns, "etag": self.etag}


@runtime_checkable
class Source(Protocol):
    """A place holding flow log objects (a local folder today; an S3 prefix or log group later)."""

    name: str

    def objects(self) -> Iterator[SourceObject]:
        """Every object, in a stable order."""

    def open(self, obj: SourceObject) -> BinaryIO:
        """The object's bytes, as a binary file object with a `name`."""

    def local_path(self, obj: SourceObject) -> str | None:
        """A local file holding the object's bytes, if there is one (the reader's fast path)."""


class LocalSource:
    """A file, or every file below a folder (sorted; hidden files and folders left out)."""

    def __init__(self, path: str | os.PathLike, *, exclude: list[Path] | None = None):
        self.path = Path(path)
        self.name = str(self.path)
        self._exclude = [p.resolve() for p in exclude or []]
        if not self.path.exists():
            raise InputError("no such file or folder", source=self.name)

    def objects(self) -> Iterator[SourceObject]:
        if self.path.is_file():
            yield self._object(self.path)
            return
        for folder, dirs, files in os.walk(self.path):
            here = Path(folder)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not self._excluded(here / d))
            for name in sorted(files):
                if not name.startswith("."):
                    yield self._object(here / name)

    def _excluded(self, folder: Path) -> bool:
        resolved = folder.resolve()
        return any(resolved == ex or ex in resolved.parents for ex in self._exclude)

    def _object(self, path: Path) -> SourceObject:
        st = path.stat()
        return SourceObject(os.path.abspath(path), st.st_size, st.st_mtime_ns)

    def open(self, obj: SourceObject) -> BinaryIO:
        return open(obj.key, "rb")  # noqa: SIM115 - the reader closes it

    def local_path(self, obj: SourceObject) -> str | None:
        return obj.key


def local_sources(
    paths: list[str | os.PathLike], lake_root: str | os.PathLike | None = None
) -> list[LocalSource]:
    """Sources for command-line paths; a lake inside a source folder is never read back into itself."""
    exclude = [Path(lake_root)] if lake_root is not None else []
    if lake_root is not None:
        lake = Path(lake_root).resolve()
        for path in paths:
            if Path(path).resolve() == lake or lake in Path(path).resolve().parents:
                raise InputError(
                    "is inside the lake; give the flow log files, not the lake", source=str(path)
                )
    return [LocalSource(p, exclude=exclude) for p in paths]
