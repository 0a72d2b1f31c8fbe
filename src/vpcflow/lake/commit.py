"""Publishing a transaction so that a crash at any moment leaves every record exactly once.

The order, each step durable before the next:
1. the transaction's Parquet files are written and fsynced under `_vpcflow/tmp/<txn>/`;
2. its journal entry (`_vpcflow/journal/<txn>.json`: where each temp file goes, which source
   objects it holds) is written atomically - from here on the transaction will happen;
3. each file is renamed into its partition (a rename is atomic: a reader sees all of it or none);
4. the manifest line is appended (the commit point for the next ingest), then the journal entry and
   temp folder are removed.

A crash before 2 leaves only temp files: the next ingest deletes them and reads those objects again.
A crash after 2 is rolled forward by the next ingest (`recover`): the remaining renames, the manifest
line, the clean-up - each step is skipped if already done. Between 3 and 4 a reader of the lake can
see the new files before the manifest lists them; that is harmless (the records are there once) and
the manifest never lists a file that is not published.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from vpcflow.errors import LakeError
from vpcflow.lake.layout import Lake, fsync_dir, write_atomically
from vpcflow.lake.manifest import Manifest

_PAUSE_ENV = "VPCFLOW_LAKE_PAUSE_AT"
_reached: dict[str, int] = {}


def crashpoint(name: str) -> None:
    """A test seam: with VPCFLOW_LAKE_PAUSE_AT=name[:n], the n-th time (default first) the ingest
    reaches `name` it says so on stderr and stops there, for a test to kill it with a real signal."""
    wanted = os.environ.get(_PAUSE_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] != int(nth or 1):
        return
    sys.stderr.write(f"vpcflow-paused-at {name}\n")
    sys.stderr.flush()
    while True:
        time.sleep(3600)


def new_txn_id() -> str:
    """Sortable by time, unique across processes: names the transaction's part files."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.urandom(4).hex()}"


def publish(
    lake: Lake, manifest: Manifest, txn: str, files: list[dict], objects: list[dict], removed: list[str] = ()
) -> dict:
    """Steps 2-4 for a transaction whose temp files are complete. `files` items: path (final,
    relative to the lake), tmp (relative to the lake), rows, bytes. `removed`: published files the
    new ones replace (compaction), deleted after the new ones are published."""
    entry = {
        "txn": txn,
        "committed": datetime.now(UTC).isoformat(timespec="seconds"),
        "objects": objects,
        "files": files,
        "removed": list(removed),
    }
    write_atomically(
        lake.journal / f"{txn}.json",
        json.dumps(entry).encode(),
        before_rename=lambda: crashpoint("journal-temp-written"),
    )
    crashpoint("journal-written")
    _roll_forward(lake, manifest, entry)
    return entry


def _roll_forward(lake: Lake, manifest: Manifest, entry: dict) -> None:
    folders = set()
    for item in entry["files"]:
        tmp, final = lake.root / item["tmp"], lake.root / item["path"]
        if tmp.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            folders.add(final.parent)
            crashpoint("file-published")
        elif not final.exists():
            raise LakeError(
                f"{lake.root}: transaction {entry['txn']} lost its file {item['path']} (neither published nor in "
                f"{lake.tmp}); the lake was changed by hand - remove {lake.journal / (entry['txn'] + '.json')} "
                "and re-ingest into a new lake"
            )
    for path in entry.get("removed", []):
        (lake.root / path).unlink(missing_ok=True)
        folders.add((lake.root / path).parent)
    for folder in folders:
        fsync_dir(folder)
    crashpoint("files-published")
    if entry["txn"] not in manifest.txns:
        manifest.append({k: v for k, v in entry.items() if k != "files"} | {"files": _public(entry["files"])})
    crashpoint("manifest-written")
    (lake.journal / f"{entry['txn']}.json").unlink(missing_ok=True)
    shutil.rmtree(lake.tmp / entry["txn"], ignore_errors=True)


def _public(files: list[dict]) -> list[dict]:
    return [{k: v for k, v in f.items() if k != "tmp"} for f in files]


def recover(lake: Lake, manifest: Manifest) -> list[str]:
    """Finish what a crashed ingest started (call under the lock): roll journalled transactions
    forward, delete temp files of transactions that never reached the journal. Returns the ids of
    the transactions finished."""
    finished = []
    for path in sorted(lake.journal.glob("*.json")):
        try:
            entry = json.loads(path.read_text())
        except ValueError as exc:  # written atomically, so this is damage from outside
            raise LakeError(f"{path}: damaged journal entry ({exc}); the lake was changed by hand") from None
        _roll_forward(lake, manifest, entry)
        finished.append(entry["txn"])
    if lake.tmp.exists():
        for leftover in lake.tmp.iterdir():
            shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(
                missing_ok=True
            )
    # write_atomically's temp files: a kill between its write and its rename leaves one beside the
    # settings (meta) or beside a journal entry (journal); neither was ever visible as the real name.
    for folder in (lake.meta, lake.journal):
        for stray in folder.glob(".*.tmp-*"):
            stray.unlink(missing_ok=True)
    return finished


def temp_dir(lake: Lake, txn: str) -> Path:
    folder = lake.tmp / txn
    folder.mkdir(parents=True, exist_ok=True)
    return folder
