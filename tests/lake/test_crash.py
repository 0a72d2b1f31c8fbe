"""A real `vpcflow ingest` subprocess killed with SIGKILL at many moments, then run again: every
record ends up in the lake exactly once, and no reader ever sees a half-written file."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.lake.flowgen import write_tree
from vpcflow.lake import Lake

SMALL = [
    "--commit-mb",
    "0.04",
    "--row-group-rows",
    "300",
    "--file-rows",
    "700",
]  # many transactions, files, row groups


def start(src: Path, lake: Path, *extra: str, pause_at: str | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("VPCFLOW_LAKE_PAUSE_AT", None)
    if pause_at:
        env["VPCFLOW_LAKE_PAUSE_AT"] = pause_at
    return subprocess.Popen(
        [sys.executable, "-m", "vpcflow.cli", "ingest", str(src), "--lake", str(lake), *SMALL, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for_pause(proc: subprocess.Popen, timeout: float = 60) -> str:
    """Read stderr until the ingest says it stopped at its pause point."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("vpcflow-paused-at"):
            return line.split()[1]
    proc.kill()
    raise AssertionError(
        f"ingest never paused; exit {proc.wait()}; stderr: {''.join(seen)}{proc.stderr.read()}"
    )


def kill9(proc: subprocess.Popen, *, may_have_finished: bool = False) -> None:
    """SIGKILL. `may_have_finished`: the caller saw it running, but it may end before the signal
    lands (a race the random-moment test cannot close); a clean exit then counts too."""
    os.kill(proc.pid, signal.SIGKILL)
    code = proc.wait(timeout=30)
    assert code == -signal.SIGKILL or (may_have_finished and code == 0), code
    proc.stdout.close()
    proc.stderr.close()


def finish(src: Path, lake: Path) -> str:
    proc = start(src, lake)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return err


def visible_packets(lake: Path) -> list[int]:
    """What a reader of the lake sees now: every published file must open whole."""
    files = Lake(lake).data_files()
    for path in files:
        pq.ParquetFile(path).metadata  # noqa: B018 - raises on a torn file
    if not files:
        return []
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT packets FROM read_parquet('{lake}/vpc_flow_logs/**/*.parquet') ORDER BY packets"
    ).fetchall()
    return [r[0] for r in rows]


def assert_exactly_once(lake: Path, total: int) -> None:
    assert visible_packets(lake) == list(range(total))
    meta = Lake(lake)
    assert list(meta.tmp.iterdir()) == [] and list(meta.journal.iterdir()) == []


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    tree = write_tree(root / "src", files=12, records_per_file=400, regions=("us-east-1", "eu-west-1"))
    return root / "src", tree.records


# Every step of a transaction (commit.py), some more than once (the n-th time it is reached).
POINTS = [
    "row-group-written",
    "row-group-written:4",
    "records-read",
    "journal-temp-written",  # leaves .<txn>.json.tmp-<pid> in the journal folder
    "journal-written",
    "file-published",
    "file-published:2",
    "files-published",
    "manifest-written",
    "journal-written:3",
    "manifest-written:3",
]


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_at_each_step_then_rerun_leaves_every_record_once(source, tmp_path, point):
    src, total = source
    lake = tmp_path / "lake"
    proc = start(src, lake, pause_at=point)
    assert wait_for_pause(proc) == point.split(":")[0]
    kill9(proc)
    seen = visible_packets(lake)
    assert len(seen) == len(set(seen))  # never a duplicate, even before recovery
    err = finish(src, lake)
    assert_exactly_once(lake, total)
    if point.startswith(("journal-written", "file-published", "files-published", "manifest-written")):
        assert "finished 1 transaction(s) left by an interrupted ingest" in err
    assert "ingested 0 records" in finish(src, lake)  # and a third run has nothing to do


def test_kill_9_during_recovery_too(source, tmp_path):
    src, total = source
    lake = tmp_path / "lake"
    first = start(src, lake, pause_at="file-published:2")
    wait_for_pause(first)
    kill9(first)
    second = start(src, lake, pause_at="file-published")  # the rerun dies while rolling forward
    wait_for_pause(second)
    kill9(second)
    finish(src, lake)
    assert_exactly_once(lake, total)


def test_kill_9_at_random_moments_on_one_lake(tmp_path):
    tree = write_tree(tmp_path / "src", files=40, records_per_file=3000, regions=("us-east-1", "eu-west-1"))
    lake = tmp_path / "lake"
    rng = random.Random(20261124)
    for _ in range(6):
        proc = start(tmp_path / "src", lake)
        time.sleep(rng.uniform(0.3, 2.0))  # after imports, somewhere inside the ingest
        if proc.poll() is None:
            kill9(proc, may_have_finished=True)
        else:
            proc.communicate()
        seen = visible_packets(lake)
        assert len(seen) == len(set(seen))
    finish(tmp_path / "src", lake)
    assert_exactly_once(lake, tree.records)


@pytest.mark.parametrize(
    "point", ["journal-written:2", "file-published:2", "files-published:2", "manifest-written:2"]
)
def test_kill_9_while_merging_small_files(tmp_path, point):
    lake, total = tmp_path / "lake", 0
    big_groups = ["--row-group-rows", "100000", "--file-rows", "1000000"]  # every ingest's file is small
    for run_number in range(8):
        total += write_tree(
            tmp_path / "src",
            files=1,
            records_per_file=50,
            first_id=total,
            start=1_764_000_000 + 300 * run_number,
            seed=run_number,
        ).records
        if run_number < 7:
            assert start(tmp_path / "src", lake, *big_groups).wait(timeout=60) == 0
    proc = start(tmp_path / "src", lake, *big_groups, pause_at=point)  # its 2nd transaction is the merge
    wait_for_pause(proc)
    kill9(proc)
    finish(tmp_path / "src", lake)
    assert_exactly_once(lake, total)
    assert len(Lake(lake).data_files()) == 1
